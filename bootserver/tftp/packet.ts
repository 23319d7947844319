// The TFTP wire format (RFC 1350, RFC 2347 OACK) as typed values. Decoding never throws: a datagram
// off the network is hostile until proven otherwise, so every failure is a value the caller handles.

export const Opcode = { RRQ: 1, WRQ: 2, DATA: 3, ACK: 4, ERROR: 5, OACK: 6 } as const;
export type Opcode = (typeof Opcode)[keyof typeof Opcode];

/** RFC 1350 error codes, plus RFC 2347's 8 (option negotiation refused). */
export const ErrorCode = {
  NotDefined: 0,
  FileNotFound: 1,
  AccessViolation: 2,
  DiskFull: 3,
  IllegalOperation: 4,
  UnknownTransferId: 5,
  FileExists: 6,
  NoSuchUser: 7,
  OptionRefused: 8,
} as const;

/** Option names lower-cased (RFC 2347: names are case-insensitive), values as sent, in wire order. */
export type TftpOptionList = ReadonlyArray<readonly [name: string, value: string]>;

export interface RequestPacket {
  op: 'rrq' | 'wrq';
  filename: string;
  /** Lower-cased: RFC 1350 modes are case-insensitive. */
  mode: string;
  options: TftpOptionList;
}
export interface DataPacket {
  op: 'data';
  block: number;
  data: Buffer;
}
export interface AckPacket {
  op: 'ack';
  block: number;
}
export interface ErrorPacket {
  op: 'error';
  code: number;
  message: string;
}
export interface OackPacket {
  op: 'oack';
  options: TftpOptionList;
}
export type TftpPacket = RequestPacket | DataPacket | AckPacket | ErrorPacket | OackPacket;

export type DecodeErrorReason =
  | 'too-short'
  | 'unknown-opcode'
  | 'unterminated-string'
  | 'bad-filename'
  | 'missing-mode'
  | 'bad-options';

export interface DecodeError {
  reason: DecodeErrorReason;
  /** The opcode when the first two bytes were present, so a caller can tell a broken request from noise. */
  opcode?: number;
  detail: string;
}

export type DecodeResult = { ok: true; packet: TftpPacket } | { ok: false; error: DecodeError };

const fail = (reason: DecodeErrorReason, detail: string, opcode?: number): DecodeResult => ({ ok: false, error: { reason, detail, opcode } });

// Fatal decoding turns invalid UTF-8 into a refusal instead of U+FFFD, which could alias another file's name.
const utf8 = new TextDecoder('utf-8', { fatal: true });

/** More options than any client sends; the cap keeps a 64 KiB datagram of "x\0y\0" from costing 16k allocations. */
export const MAX_OPTIONS = 32;

/**
 * Name/value pairs from `at` to the end. A value may be empty (RFC 2090 multicast is sent that way);
 * an empty name is accepted only as trailing NUL padding, which some ROMs append.
 */
function options(buf: Buffer, at: number, opcode: number): { ok: true; options: [string, string][] } | { ok: false; result: DecodeResult } {
  const found: [string, string][] = [];
  const bad = (reason: DecodeErrorReason, detail: string) => ({ ok: false as const, result: fail(reason, detail, opcode) });
  while (at < buf.length) {
    const nameEnd = buf.indexOf(0, at);
    if (nameEnd === -1) return bad('unterminated-string', 'option name must end with NUL');
    if (nameEnd === at) {
      for (let i = at; i < buf.length; i++) if (buf[i] !== 0) return bad('bad-options', 'empty option name');
      break;
    }
    if (nameEnd + 1 === buf.length) return bad('bad-options', `option ${buf.toString('latin1', at, nameEnd)} has no value`);
    const valueEnd = buf.indexOf(0, nameEnd + 1);
    if (valueEnd === -1) return bad('unterminated-string', 'option value must end with NUL');
    if (found.length === MAX_OPTIONS) return bad('bad-options', `more than ${MAX_OPTIONS} options`);
    found.push([buf.toString('latin1', at, nameEnd).toLowerCase(), buf.toString('latin1', nameEnd + 1, valueEnd)]);
    at = valueEnd + 1;
  }
  return { ok: true, options: found };
}

function decodeRequest(buf: Buffer, opcode: number): DecodeResult {
  const nameEnd = buf.indexOf(0, 2);
  if (nameEnd === -1) return fail('unterminated-string', 'filename must end with NUL', opcode);
  if (nameEnd + 1 === buf.length) return fail('missing-mode', 'no transfer mode', opcode);
  const modeEnd = buf.indexOf(0, nameEnd + 1);
  if (modeEnd === -1) return fail('unterminated-string', 'mode must end with NUL', opcode);
  if (modeEnd === nameEnd + 1) return fail('missing-mode', 'empty transfer mode', opcode);
  let filename: string;
  try {
    filename = utf8.decode(buf.subarray(2, nameEnd));
  } catch {
    return fail('bad-filename', 'filename is not valid UTF-8', opcode);
  }
  const parsed = options(buf, modeEnd + 1, opcode);
  if (!parsed.ok) return parsed.result;
  return {
    ok: true,
    packet: { op: opcode === Opcode.RRQ ? 'rrq' : 'wrq', filename, mode: buf.toString('latin1', nameEnd + 1, modeEnd).toLowerCase(), options: parsed.options },
  };
}

export function decode(buf: Buffer): DecodeResult {
  if (buf.length < 2) return fail('too-short', `${buf.length} bytes`);
  const opcode = buf.readUInt16BE(0);
  switch (opcode) {
    case Opcode.RRQ:
    case Opcode.WRQ:
      return decodeRequest(buf, opcode);
    case Opcode.DATA:
      if (buf.length < 4) return fail('too-short', 'DATA without block number', opcode);
      return { ok: true, packet: { op: 'data', block: buf.readUInt16BE(2), data: buf.subarray(4) } };
    case Opcode.ACK:
      // Bytes after the block number are ignored: they change nothing and some stacks pad short frames.
      if (buf.length < 4) return fail('too-short', 'ACK without block number', opcode);
      return { ok: true, packet: { op: 'ack', block: buf.readUInt16BE(2) } };
    case Opcode.ERROR: {
      if (buf.length < 4) return fail('too-short', 'ERROR without code', opcode);
      // A missing terminator is tolerated: the message is only logged, and a peer's abort must still be seen.
      const end = buf.indexOf(0, 4);
      const message = buf.subarray(4, end === -1 ? buf.length : end).toString('latin1');
      return { ok: true, packet: { op: 'error', code: buf.readUInt16BE(2), message } };
    }
    case Opcode.OACK: {
      const parsed = options(buf, 2, opcode);
      if (!parsed.ok) return parsed.result;
      return { ok: true, packet: { op: 'oack', options: parsed.options } };
    }
    default:
      return fail('unknown-opcode', `opcode ${opcode}`, opcode);
  }
}

function strings(opcode: Opcode, parts: readonly string[], encodings: readonly BufferEncoding[]): Buffer {
  const chunks = parts.map((part, i) => Buffer.from(part, encodings[i] ?? 'latin1'));
  const size = 2 + chunks.reduce((sum, chunk) => sum + chunk.length + 1, 0);
  const out = Buffer.alloc(size);
  out.writeUInt16BE(opcode, 0);
  let at = 2;
  for (const chunk of chunks) {
    chunk.copy(out, at);
    at += chunk.length + 1;
  }
  return out;
}

export function encodeRequest(op: 'rrq' | 'wrq', filename: string, mode: string, options: TftpOptionList = []): Buffer {
  const parts = [filename, mode, ...options.flat()];
  return strings(op === 'rrq' ? Opcode.RRQ : Opcode.WRQ, parts, ['utf8']);
}

export function encodeOack(options: TftpOptionList): Buffer {
  return strings(Opcode.OACK, options.flat(), []);
}

export function encodeAck(block: number): Buffer {
  const out = Buffer.alloc(4);
  out.writeUInt16BE(Opcode.ACK, 0);
  out.writeUInt16BE(block & 0xffff, 2);
  return out;
}

/** Writes a DATA header into a packet buffer whose payload the caller fills in place (no copy per block). */
export function writeDataHeader(packet: Buffer, block: number): void {
  packet.writeUInt16BE(Opcode.DATA, 0);
  packet.writeUInt16BE(block & 0xffff, 2);
}

export function encodeData(block: number, data: Buffer): Buffer {
  const out = Buffer.alloc(4 + data.length);
  writeDataHeader(out, block);
  data.copy(out, 4);
  return out;
}

export function encodeError(code: number, message: string): Buffer {
  // Messages are netascii: anything else becomes '?' so no server text can smuggle control bytes to a terminal.
  const text = message.replace(/[^\x20-\x7e]/g, '?');
  const out = Buffer.alloc(4 + text.length + 1);
  out.writeUInt16BE(Opcode.ERROR, 0);
  out.writeUInt16BE(code & 0xffff, 2);
  out.write(text, 4, 'latin1');
  return out;
}
