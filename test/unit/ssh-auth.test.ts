// Which keyboard-interactive prompts the SSH password is given to. The decision needs no server,
// and the test sshd cannot produce 2FA prompts (see ssh-tunnel.test.ts for the protocol itself).
import { describe, expect, it } from 'vitest';
import { answerKeyboardInteractive, prepareHopAuth } from '../../main/connections/ssh/auth';
import { FlightdeckError } from '../../shared/errors';

describe('keyboard-interactive: the password goes only to a password prompt', () => {
  const pw = 's3cret';
  const hidden = (prompt: string) => ({ prompt, echo: false });

  it('answers hidden password prompts, as PAM words them, and empty rounds', () => {
    for (const p of ['Password: ', '(dba@db1.example.com) Password: ', 'Password for dba@bastion:', 'Passwort: ', 'Enter your LDAP password:']) {
      expect(answerKeyboardInteractive([hidden(p)], pw), p).toEqual({ answers: [pw] });
    }
    // Servers send prompt-less rounds to show a message; ssh answers them with nothing.
    expect(answerKeyboardInteractive([], pw)).toEqual({ answers: [] });
  });

  it('refuses one-time codes and 2FA prompts, including those that say "password"', () => {
    for (const p of [
      'Verification code: ',
      "One-time password (OATH) for `dba': ",
      'OTP: ',
      'Passcode or option (1-3): ',
      'Enter PASSCODE:',
      'PIN: ',
      'Token: ',
      'Duo two-factor login for dba',
      'YubiKey for `dba\': ',
    ]) {
      expect(answerKeyboardInteractive([hidden(p)], pw), p).toEqual({ refused: p.trim(), reason: 'not-password' });
    }
  });

  it('refuses echoed prompts and prompts that do not ask for a password', () => {
    expect(answerKeyboardInteractive([{ prompt: 'Password: ', echo: true }], pw)).toMatchObject({ reason: 'not-password' });
    expect(answerKeyboardInteractive([hidden('Username: ')], pw)).toMatchObject({ refused: 'Username:', reason: 'not-password' });
  });

  it('refuses the whole round if any prompt is not for the password, quoting that one', () => {
    expect(answerKeyboardInteractive([hidden('Password: '), hidden('Verification code: ')], pw)).toEqual({ refused: 'Verification code:', reason: 'not-password' });
  });

  it('refuses a password change (expired password) rather than answering "New password" with the old one', () => {
    for (const p of ['New password: ', 'Retype new password: ', 'Enter new UNIX password: ']) {
      expect(answerKeyboardInteractive([hidden(p)], pw), p).toEqual({ refused: p.trim(), reason: 'password-change' });
    }
  });

  it('quotes server text as one bounded line', () => {
    const d = answerKeyboardInteractive([hidden(`Code\r\n\u001b[31mnow${'x'.repeat(500)}`)], pw);
    expect(d).toMatchObject({ reason: 'not-password' });
    const refused = (d as { refused: string }).refused;
    expect(refused).not.toMatch(/[\u0000-\u001f]/);
    expect(refused.startsWith('Code [31mnow')).toBe(true);
    expect(refused.length).toBeLessThanOrEqual(201);
  });

  it('the password plan refuses through its callback with SSH_AUTH_FAILED and never answers', async () => {
    const hop = { host: 'bastion.example.com', port: 2222, user: 'dba', auth: 'password' as const };
    const auth = await prepareHopAuth('jump', hop, { password: pw }, () => undefined);
    const refusals: FlightdeckError[] = [];
    const methods = auth.methods(() => undefined, (e) => refusals.push(e));
    const kbd = methods.find((m) => m.type === 'keyboard-interactive');
    if (kbd?.type !== 'keyboard-interactive') throw new Error('the password plan has no keyboard-interactive step');
    const answered: string[][] = [];
    kbd.prompt('', '', '', [hidden('Password: ')], (a) => answered.push(a));
    kbd.prompt('', '', '', [hidden('Verification code: ')], (a) => answered.push(a));
    expect(answered).toEqual([[pw]]);
    expect(refusals).toHaveLength(1);
    const err = refusals[0]!;
    expect(err).toBeInstanceOf(FlightdeckError);
    expect(err.code).toBe('SSH_AUTH_FAILED');
    expect(err.message).toBe('The jump host dba@bastion.example.com:2222 asked for something other than the password while signing in: "Verification code:".');
    expect(err.hint).toMatch(/does not answer interactive challenges/);
    expect(err.hint).toMatch(/agent|key/);
    expect(err.hint).toMatch(/bastion.*2FA/);
    expect(err.details).toEqual({ prompt: 'Verification code:' });
  });
});
