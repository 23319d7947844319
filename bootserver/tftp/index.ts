// Public API of the read-only TFTP server (RFC 1350/2347/2348/2349/7440).

export { TftpServer, TftpStartError } from './server.js';
export { TFTP_DEFAULTS } from './types.js';
export type { RefusalInfo, TftpObserver, TftpRefusal, TftpServerOptions, TransferEndInfo, TransferStartInfo } from './types.js';
export {
  ErrorCode,
  Opcode,
  decode,
  encodeAck,
  encodeData,
  encodeError,
  encodeOack,
  encodeRequest,
  type DecodeError,
  type DecodeResult,
  type TftpOptionList,
  type TftpPacket,
} from './packet.js';
export { negotiate, type Negotiated, type NegotiationLimits } from './options.js';
export { resolveRequest, type ResolveRefusal, type ResolveResult } from './resolve.js';
