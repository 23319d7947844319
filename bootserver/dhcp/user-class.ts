// Option 77 comes in two shapes: RFC 3004's list of length-prefixed instances, and the single plain string
// that iPXE and most other clients actually send (the RFC 2132-era form). Nothing on the wire says which.
//
// Heuristic: the value is RFC 3004 when it parses exactly as one or more instances, each with a length of
// at least 1, that together cover the whole value; otherwise it is plain text. Plain text is rarely
// mistaken for a list because its first byte, read as a length, must land exactly on the end of the value
// (or on another valid length): "iPXE" is 69 50 58 45, and 0x69 = 105 is far more than the 3 bytes left.
// Printable text starts with a byte of at least 0x20, so only plain strings of 33+ characters whose bytes
// chain exactly to the end (e.g. 33 characters starting with "!", 0x21 = 32 + 1) are misread; no boot
// client we know sends such a thing.

import { latin1 } from './text.js';
import type { UserClass } from './types.js';

export function parseUserClass(value: Uint8Array): UserClass {
  const instances: string[] = [];
  let at = 0;
  while (at < value.length) {
    const length = value[at] ?? 0;
    if (length === 0 || at + 1 + length > value.length) return { form: 'plain', value: latin1(value) };
    instances.push(latin1(value, at + 1, at + 1 + length));
    at += 1 + length;
  }
  return instances.length > 0 ? { form: 'rfc3004', instances } : { form: 'plain', value: '' };
}

/** Whether the user class names iPXE, in either form. */
export function userClassIsIpxe(userClass: UserClass | null): boolean {
  if (userClass === null) return false;
  return userClass.form === 'plain' ? userClass.value === 'iPXE' : userClass.instances.includes('iPXE');
}
