import { describe, expect, it } from 'vitest';
import { backoffDelay } from '../../../shim-operator/src/daemon-client/backoff.js';
import { ServerSentEventParser, type ServerSentItem } from '../../../shim-operator/src/daemon-client/sse-parser.js';

const feed = (chunks: string[]): ServerSentItem[] => {
  const parser = new ServerSentEventParser();
  return chunks.flatMap((chunk) => parser.push(chunk));
};

// What the daemon writes (daemon/api/routes/events.ts): a retry hint, frames, keep-alive comments.
const daemonStream = 'retry: 2000\n\nid: 7\nevent: host.Registered\ndata: {"id":7}\n\n: keep-alive\n\nid: 8\nevent: host.Updated\ndata: {"id":8}\n\n';
const expected: ServerSentItem[] = [
  { kind: 'retry', milliseconds: 2000 },
  { kind: 'message', message: { id: '7', event: 'host.Registered', data: '{"id":7}' } },
  { kind: 'message', message: { id: '8', event: 'host.Updated', data: '{"id":8}' } },
];

describe('ServerSentEventParser', () => {
  it('parses the daemon stream whole, and the same in every split into two chunks', () => {
    expect(feed([daemonStream])).toEqual(expected);
    for (let cut = 0; cut <= daemonStream.length; cut++) {
      expect(feed([daemonStream.slice(0, cut), daemonStream.slice(cut)])).toEqual(expected);
    }
  });

  it('parses one character at a time', () => {
    expect(feed([...daemonStream])).toEqual(expected);
  });

  it('takes CRLF and lone CR line ends, also with the CRLF split across chunks', () => {
    const crlf = daemonStream.replaceAll('\n', '\r\n');
    expect(feed([crlf])).toEqual(expected);
    expect(feed([...crlf])).toEqual(expected);
    expect(feed([daemonStream.replaceAll('\n', '\r')])).toEqual(expected);
    // "\r" ending one chunk and "\n" starting the next is one line end, not an empty line.
    expect(feed(['data: a\r', '\ndata: b\r', '\n\r', '\n'])).toEqual([{ kind: 'message', message: { id: undefined, event: 'message', data: 'a\nb' } }]);
  });

  it('joins multi-line data, strips one leading space, keeps ids across messages, ignores unknown fields', () => {
    expect(feed(['\uFEFFid: 3\ndata:first\ndata:  second\nfoo: bar\ndata\n\ndata: next\n\n'])).toEqual([
      { kind: 'message', message: { id: '3', event: 'message', data: 'first\n second\n' } },
      { kind: 'message', message: { id: '3', event: 'message', data: 'next' } },
    ]);
  });

  it('dispatches nothing for comments, events without data, or an event cut off by the end of the stream', () => {
    expect(feed([': only a comment\n\nevent: x\nid: 9\n\nretry: soon\n\nid: 10\ndata: {"partial": tr'])).toEqual([]);
  });
});

describe('backoffDelay', () => {
  const policy = { initialMs: 100, maxMs: 1000 };
  it('grows exponentially up to the cap, with jitter between half and all of it', () => {
    expect([0, 1, 2, 3, 4, 5].map((attempt) => backoffDelay(attempt, policy, () => 1))).toEqual([100, 200, 400, 800, 1000, 1000]);
    expect([0, 1, 2, 3, 4, 5].map((attempt) => backoffDelay(attempt, policy, () => 0))).toEqual([50, 100, 200, 400, 500, 500]);
    expect(backoffDelay(10_000, policy, () => 0.5)).toBe(750);
  });
});
