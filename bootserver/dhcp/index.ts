export * from './types.js';
export { decodeDhcp } from './decode.js';
export { encodeDhcp, encodeDhcpMessage, type EncodableMessage } from './encode.js';
export {
  decodeSubOptions,
  encodeSubOptions,
  ipv4Bytes,
  parseUserClass,
  pxeDiscoveryControl,
  pxeView,
  textOption,
} from './options.js';
export { BOOTP_MIN_LENGTH } from './layout.js';
