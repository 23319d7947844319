/** One dispatched server-sent event (WHATWG HTML, "event stream interpretation"). */
export interface ServerSentMessage {
  /** The last `id:` seen on the stream so far (ids persist across messages, per the spec). */
  id: string | undefined;
  event: string;
  data: string;
}

export type ServerSentItem = { kind: 'message'; message: ServerSentMessage } | { kind: 'retry'; milliseconds: number };

const LF = 10;
const CR = 13;

/**
 * Incremental parser: feed decoded text as it arrives, in chunks of any size. Lines end in CRLF,
 * LF or CR (a CRLF split across two chunks counts once); comments are skipped; `data:` lines
 * join with "\n"; an event cut off by the end of the stream is never dispatched.
 */
export class ServerSentEventParser {
  private buffer = '';
  // Where the scan for line ends resumes, so a long line arriving in many chunks is scanned once.
  private scanned = 0;
  private lastChunkEndedInCR = false;
  private atStreamStart = true;
  private dataLines: string[] = [];
  private eventType = '';
  private lastEventId: string | undefined;

  push(chunk: string): ServerSentItem[] {
    let text = chunk;
    if (this.atStreamStart && text.length > 0) {
      this.atStreamStart = false;
      if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    }
    if (this.lastChunkEndedInCR && text.length > 0) {
      this.lastChunkEndedInCR = false;
      if (text.charCodeAt(0) === LF) text = text.slice(1);
    }
    this.buffer += text;
    const items: ServerSentItem[] = [];
    let lineStart = 0;
    for (let i = this.scanned; i < this.buffer.length; i++) {
      const code = this.buffer.charCodeAt(i);
      if (code !== LF && code !== CR) continue;
      this.line(this.buffer.slice(lineStart, i), items);
      if (code === CR) {
        if (i + 1 === this.buffer.length) this.lastChunkEndedInCR = true;
        else if (this.buffer.charCodeAt(i + 1) === LF) i++;
      }
      lineStart = i + 1;
    }
    this.buffer = this.buffer.slice(lineStart);
    this.scanned = this.buffer.length;
    return items;
  }

  private line(line: string, items: ServerSentItem[]): void {
    if (line === '') {
      this.dispatch(items);
      return;
    }
    if (line.startsWith(':')) return;
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    switch (field) {
      case 'data':
        this.dataLines.push(value);
        break;
      case 'event':
        this.eventType = value;
        break;
      case 'id':
        if (!value.includes('\0')) this.lastEventId = value;
        break;
      case 'retry':
        if (/^[0-9]+$/.test(value)) items.push({ kind: 'retry', milliseconds: Number(value) });
        break;
      default:
        // Unknown fields are ignored, as the spec requires.
        break;
    }
  }

  private dispatch(items: ServerSentItem[]): void {
    if (this.dataLines.length > 0) {
      items.push({ kind: 'message', message: { id: this.lastEventId, event: this.eventType || 'message', data: this.dataLines.join('\n') } });
    }
    this.dataLines = [];
    this.eventType = '';
  }
}
