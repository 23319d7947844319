// The server's public contract: its settings and what it reports to whoever does metrics and logging.

export interface TftpServerOptions {
  /** Directory served; every file sent must resolve (realpath) inside it. */
  root: string;
  host: string;
  /** 69 in production; 0 picks a free port (read it back with address()). */
  port: number;
  /** Largest blksize granted; 1468 fits a 1500-byte MTU (1500 - 20 IP - 8 UDP - 4 TFTP). */
  maxBlockSize: number;
  /** Largest windowsize granted (RFC 7440); 1 means lockstep only. */
  maxWindowSize: number;
  /** Retransmission timeout unless the client negotiates one (RFC 2349). */
  timeoutMs: number;
  /** Retransmissions of one packet before the transfer is given up. */
  retries: number;
  /** Concurrent transfers; requests beyond are refused with ERROR 0 "Server busy". */
  maxTransfers: number;
  observer?: TftpObserver;
}

/** Production defaults, for callers that configure only root and host. */
export const TFTP_DEFAULTS = {
  host: '0.0.0.0',
  port: 69,
  maxBlockSize: 1468,
  maxWindowSize: 64,
  timeoutMs: 1000,
  retries: 5,
  maxTransfers: 64,
} as const satisfies Omit<TftpServerOptions, 'root' | 'observer'>;

export type TftpRefusal =
  | 'write-request'
  | 'not-found'
  | 'outside-root'
  | 'not-a-file'
  | 'invalid-name'
  | 'unreadable'
  | 'malformed'
  | 'too-many-transfers'
  | 'unsupported-mode'
  | 'unknown-opcode'
  | 'unexpected-opcode';

export interface TransferStartInfo {
  /** "address:port" of the client, its TID. */
  client: string;
  file: string;
  /** The server's UDP port for this transfer: its TID, for correlating with packet captures. */
  port: number;
  blockSize: number;
  windowSize: number;
  /** Size of the file on disk in bytes. */
  size: number;
}

export interface TransferEndInfo {
  client: string;
  file: string;
  /** Payload bytes the client acknowledged. */
  bytes: number;
  ms: number;
  ok: boolean;
  error?: string;
}

export interface RefusalInfo {
  client: string;
  reason: TftpRefusal;
  file?: string;
}

/** Every callback is optional and guarded: an observer that throws cannot take the server down. */
export interface TftpObserver {
  onTransferStart?(info: TransferStartInfo): void;
  onTransferEnd?(info: TransferEndInfo): void;
  onRefused?(info: RefusalInfo): void;
  /** Socket errors after start (rare: the kernel reporting a failed send); the server keeps running. */
  onError?(error: Error): void;
}
