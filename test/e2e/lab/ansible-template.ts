import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const ROLES = resolve(import.meta.dirname, '..', '..', '..', 'ansible', 'roles');

/**
 * Renders one of the Ansible roles' templates with ansible's own template module, on this machine,
 * so the lab runs on exactly what `ansible-playbook lab.yml` would install.
 */
export async function renderRoleTemplate(role: string, template: string, vars: Record<string, unknown>, dest: string, dir: string): Promise<void> {
  const varsFile = join(dir, `${template}.vars.json`);
  // The python3 on PATH runs the module (interpreter discovery may pick a pyenv shim that fails).
  writeFileSync(varsFile, JSON.stringify({ ansible_python_interpreter: 'python3', ...vars }));
  const src = join(ROLES, role, 'templates', template);
  try {
    await run('ansible', ['localhost', '--connection', 'local', '--inventory', 'localhost,', '--module-name', 'ansible.builtin.template', '--args', `src=${src} dest=${dest} mode=0644`, '--extra-vars', `@${varsFile}`], {
      env: { ...process.env, ANSIBLE_NOCOLOR: '1', ANSIBLE_LOCALHOST_WARNING: 'false', ANSIBLE_INVENTORY_UNPARSED_WARNING: 'false' },
      timeout: 120_000,
      killSignal: 'SIGKILL',
    });
  } catch (error) {
    const e = error as { stdout?: string; stderr?: string; message: string };
    throw new Error(`rendering ${role}/templates/${template} with ansible failed (bash .ci/install-test-deps.sh installs ansible-core): ${e.stdout ?? ''}${e.stderr ?? e.message}`, { cause: error });
  }
}
