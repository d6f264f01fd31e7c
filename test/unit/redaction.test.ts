// Passwords in connection URLs and conninfo strings never reach a message or a log line, even when
// typed without percent-encoding.
import { describe, expect, it } from 'vitest';
import { redactUrl } from '../../main/connections/url';
import { redact } from '../../main/log';

const cases: [string, string][] = [
  ['postgres://app:s3cr/t@db.example.com:5432/shop', 'postgres://app:***@db.example.com:5432/shop'],
  ['postgres://app:p@ss@db/x?sslmode=require', 'postgres://app:***@db/x?sslmode=require'],
  ['mongodb://u:p@h/db?x=a@b', 'mongodb://u:***@h/db?x=a@b'],
  ['postgres://app@db/x', 'postgres://app@db/x'],
  ['mysql://a:b@h', 'mysql://a:***@h'],
];

describe('redaction', () => {
  it.each(cases)('redactUrl(%s)', (raw, expected) => {
    expect(redactUrl(raw)).toBe(expected);
  });

  it.each(cases)('redact() in a log line hides the password of %s', (raw, expected) => {
    expect(redact(`connect to ${raw} failed`)).toBe(`connect to ${expected} failed`);
  });

  it('hides password= and passphrase: values in conninfo strings and messages', () => {
    expect(redact("host=db password='se cret' user=x")).toBe('host=db password=*** user=x');
    expect(redact('PASSWORD=hunter2&user=x')).toBe('PASSWORD=***&user=x');
    expect(redact('key passphrase: correct-horse')).toBe('key passphrase: ***');
  });
});
