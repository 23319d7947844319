/** What went wrong talking to a BMC, phrased for an operator; never carries credentials. */
export class RedfishError extends Error {
  override name = 'RedfishError';
  constructor(
    message: string,
    readonly kind: 'http' | 'transport' | 'timeout' | 'protocol' | 'unsupported' | 'verify',
    readonly status?: number,
    /** The Redfish MessageId the BMC sent, when it sent one (e.g. Base.1.8.PropertyValueNotInList). */
    readonly messageId?: string,
    readonly retryAfterMs?: number,
  ) {
    super(message);
  }
}

interface ErrorBody {
  error?: {
    code?: unknown;
    message?: unknown;
    '@Message.ExtendedInfo'?: unknown;
  };
}

function firstExtended(info: unknown): { message?: string; id?: string } {
  // iDRAC sends ExtendedInfo as one object where the schema says an array.
  const entry: unknown = Array.isArray(info) ? info[0] : info;
  if (!entry || typeof entry !== 'object') return {};
  const record = entry as Record<string, unknown>;
  return {
    ...(typeof record.Message === 'string' ? { message: record.Message } : {}),
    ...(typeof record.MessageId === 'string' ? { id: record.MessageId } : {}),
  };
}

/**
 * The most useful words from an error response, whatever its shape: a Redfish error object,
 * ExtendedInfo as an object, HTML, plain text labelled JSON, or nothing at all.
 */
// A BMC's words go into host status, events and logs: bounded, whatever it sends.
const clip = (text: string): string => (text.length > 300 ? `${text.slice(0, 300)}…` : text);

export function describeErrorBody(text: string): { message: string; messageId?: string } {
  const trimmed = text.trim();
  if (trimmed === '') return { message: 'no error details in the response' };
  try {
    const body = JSON.parse(trimmed) as ErrorBody;
    const error = body.error;
    if (error && typeof error === 'object') {
      const extended = firstExtended(error['@Message.ExtendedInfo']);
      const message = extended.message ?? (typeof error.message === 'string' ? error.message : undefined);
      const id = extended.id ?? (typeof error.code === 'string' ? error.code : undefined);
      if (message) return { message: clip(message), ...(id ? { messageId: clip(id) } : {}) };
    }
  } catch {
    // Not JSON, whatever the Content-Type said.
  }
  const plain = trimmed
    .replace(/<[^>]*>/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
  return { message: plain.slice(0, 200) || 'no error details in the response' };
}
