import type { ErrorBodyStyle } from './types.js';
import type { BmcResponse, RedfishMessage } from './http.js';
import { JSON_TYPE } from './http.js';
import type { JsonObject } from './tree.js';

const BASE_PREFIX = 'Base.1.22';

/** Text from the DMTF Base registry 1.22.1 (dmtf-mockups/_registries), so bodies look like a real service's. */
const BASE = {
  GeneralError: ['A general error has occurred.  See Resolution for information on how to resolve the error, or @Message.ExtendedInfo if Resolution is not provided.', 'Critical', 'None.'],
  NoValidSession: ['There is no valid session established with the implementation.', 'Critical', 'Establish a session before attempting any operations.'],
  SessionLimitExceeded: [
    'The session establishment failed due to the number of simultaneous sessions exceeding the limit of the implementation.',
    'Critical',
    'Reduce the number of other sessions before trying to establish the session or increase the limit of simultaneous sessions, if supported.',
  ],
  PropertyValueNotInList: [
    "The value '%1' for the property %2 is not in the list of acceptable values.",
    'Warning',
    'Choose a value from the enumeration list that the implementation can support and resubmit the request if the operation failed.',
  ],
  ActionParameterValueNotInList: [
    "The value '%1' for the parameter %2 in the action %3 is not in the list of acceptable values.",
    'Warning',
    'Choose a value from the enumeration list that the implementation can support and resubmit the request if the operation failed.',
  ],
  ActionParameterMissing: [
    'The action %1 requires the parameter %2 to be present in the request body.',
    'Critical',
    'Supply the action with the required parameter in the request body when the request is resubmitted.',
  ],
  ActionNotSupported: ['The action %1 is not supported by the resource.', 'Critical', 'Check the Actions property in the resource for the supported actions.'],
  PropertyNotWritable: [
    'The property %1 is a read-only property and cannot be assigned a value.',
    'Warning',
    'Remove the property from the request body and resubmit the request if the operation failed.',
  ],
  PropertyUnknown: [
    'The property %1 is not in the list of valid properties for the resource.',
    'Warning',
    'Remove the unknown property from the request body and resubmit the request if the operation failed.',
  ],
  PropertyMissing: [
    'The property %1 is a required property and must be included in the request.',
    'Warning',
    'Ensure that the property is in the request body and has a valid value and resubmit the request if the operation failed.',
  ],
  PropertyValueTypeError: [
    "The value '%1' for the property %2 is not a type that the property can accept.",
    'Warning',
    'Correct the value for the property in the request body and resubmit the request if the operation failed.',
  ],
  PreconditionFailed: ['The ETag supplied did not match the ETag required to change this resource.', 'Critical', 'Try the operation again using the appropriate ETag.'],
  PreconditionRequired: [
    'A precondition header or annotation is required to change this resource.',
    'Critical',
    'Try the operation again using an If-Match or If-None-Match header and appropriate ETag.',
  ],
  MalformedJSON: [
    'The request body submitted was malformed JSON and could not be parsed by the receiving service.',
    'Critical',
    'Ensure that the request body is valid JSON and resubmit the request.',
  ],
  ResourceNotFound: ["The requested resource of type %1 named '%2' was not found.", 'Critical', 'Provide a valid resource identifier and resubmit the request.'],
  ServiceTemporarilyUnavailable: ['The service is temporarily unavailable.  Retry in %1 seconds.', 'Critical', 'Wait for the indicated retry duration and retry the operation.'],
  OperationNotAllowed: ['The HTTP method is not allowed on this resource.', 'Critical', 'None.'],
  InternalError: [
    'The request failed due to an internal service error.  The service is still operational.',
    'Critical',
    'Resubmit the request.  If the problem persists, consider resetting the service.',
  ],
  ResourceInUse: ['The change to the requested resource failed because the resource is in use or in transition.', 'Warning', 'Remove the condition and resubmit the request if the operation failed.'],
  Success: ['The request completed successfully.', 'OK', 'None.'],
  NoOperation: ['The request body submitted contain no data to act upon and no changes to the resource took place.', 'Warning', 'Add properties in the JSON object and resubmit the request.'],
} as const satisfies Record<string, readonly [string, string, string]>;

export type BaseMessageKey = keyof typeof BASE;

export function baseMessage(key: BaseMessageKey, args: readonly string[] = [], related?: readonly string[]): RedfishMessage {
  const [template, severity, resolution] = BASE[key];
  return {
    '@odata.type': '#Message.v1_1_1.Message',
    MessageId: `${BASE_PREFIX}.${key}`,
    Message: template.replace(/%(\d)/g, (_, n: string) => args[Number(n) - 1] ?? ''),
    MessageArgs: [...args],
    Severity: severity,
    Resolution: resolution,
    ...(related ? { RelatedProperties: [...related] } : {}),
  };
}

export function vendorMessage(messageId: string, message: string, resolution: string): RedfishMessage {
  return { '@odata.type': '#Message.v1_1_1.Message', MessageId: messageId, Message: message, MessageArgs: [], Severity: 'Critical', Resolution: resolution };
}

export function errorResponse(status: number, messages: readonly RedfishMessage[], headers: Record<string, string> = {}): BmcResponse {
  const error = [...messages];
  return { status, headers, body: standardBody(error), error };
}

function standardBody(messages: readonly RedfishMessage[]): JsonObject {
  const only = messages.length === 1 ? messages[0] : undefined;
  return {
    error: {
      code: only?.MessageId ?? `${BASE_PREFIX}.GeneralError`,
      message: only?.Message ?? 'A general error has occurred. See ExtendedInfo for more information.',
      '@Message.ExtendedInfo': messages.map((m) => ({ ...m })),
    },
  };
}

const escapeHtml = (text: string): string => text.replace(/[&<>"]/g, (c) => `&#${c.charCodeAt(0)};`);

export function htmlErrorPage(status: number, text: string): string {
  return `<!DOCTYPE html>\n<html><head><title>${status} Error</title></head><body><h1>${status} Error</h1><p>${escapeHtml(text)}</p></body></html>\n`;
}

/** Reshapes a Redfish error the way broken BMCs send them (quirk 14). */
export function applyErrorStyle(response: BmcResponse, style: ErrorBodyStyle): BmcResponse {
  const messages = response.error;
  if (!messages || style === 'standard') return response;
  const first = messages[0];
  const text = first?.Message ?? 'error';
  const headers = { ...response.headers };
  delete headers['Content-Type'];
  switch (style) {
    case 'extended-info-object': {
      // iDRAC: one object where the schema says an array.
      const body: JsonObject = {
        error: { code: first?.MessageId ?? `${BASE_PREFIX}.GeneralError`, message: 'A general error has occurred. See ExtendedInfo for more information.', '@Message.ExtendedInfo': first ? { ...first } : {} },
      };
      return { ...response, headers, body };
    }
    case 'empty':
      return { ...response, headers, body: null };
    case 'html':
      return { ...response, headers: { ...headers, 'Content-Type': 'text/html; charset=utf-8' }, body: htmlErrorPage(response.status, text) };
    case 'text-as-json':
      // sushy-tools: a bare sentence under application/json.
      return { ...response, headers: { ...headers, 'Content-Type': JSON_TYPE }, body: text };
  }
}
