import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

/**
 * The playbooks in ansible/ cannot run here (they install services, and the lab needs libvirt),
 * but they must parse and pass ansible-lint's production profile (ansible/.ansible-lint).
 * `.ci/install-test-deps.sh` installs the pinned ansible-core and ansible-lint: a missing tool
 * fails the test rather than skipping it.
 */

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const TIMEOUT_MS = 110_000;
// No colours, no galaxy lookups, nothing written into the repository.
const env = { ...process.env, NO_COLOR: '1', ANSIBLE_NOCOLOR: '1', ANSIBLE_FORCE_COLOR: '0', PY_COLORS: '0', ANSIBLE_RETRY_FILES_ENABLED: '0' };

function run(command: string, args: string[]): { status: number | null; output: string } {
  const result = spawnSync(command, args, { cwd: ROOT, env, encoding: 'utf8', timeout: TIMEOUT_MS });
  if (result.error) {
    const missing = (result.error as NodeJS.ErrnoException).code === 'ENOENT';
    throw new Error(
      missing
        ? `${command} is not installed: run .ci/install-test-deps.sh as root (pip: ansible-core, ansible-lint)`
        : `${command} ${args.join(' ')}: ${result.error.message}`,
    );
  }
  return { status: result.status, output: `$ ${command} ${args.join(' ')}\n${result.stdout}${result.stderr}` };
}

function expectSuccess({ status, output }: { status: number | null; output: string }): void {
  expect(status, output).toBe(0);
}

describe('ansible/', () => {
  for (const playbook of ['provisioner.yml', 'lab.yml']) {
    it(`${playbook} passes ansible-playbook --syntax-check`, () => {
      expectSuccess(run('ansible-playbook', ['--syntax-check', '-i', 'ansible/inventory.example.ini', `ansible/${playbook}`]));
    });
  }

  it('passes ansible-lint with the production profile', () => {
    const result = run('ansible-lint', ['--nocolor', '-c', 'ansible/.ansible-lint', 'ansible/']);
    expectSuccess(result);
    expect(result.output, result.output).toMatch(/Profile 'production' was required, and it passed/);
  });
});
