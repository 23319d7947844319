import { ConfigError } from '../config/load.js';
import { DomainError } from '../core/errors.js';
import { SchemaError } from '../../db/migrate.js';
import { KeyringError } from '../secrets/keyring.js';
import { version } from '../util/version.js';
import { ApiError } from './client.js';
import { parseCommand, UsageError, type CliIo, type Command } from './command.js';
import { configCheckCommand, configKeysCommand } from './commands/config.js';
import { daemonCommand } from './commands/daemon.js';
import { hostAddCommand, hostDeleteCommand, hostEditCommand, hostInspectCommand, hostListCommand, hostLogsCommand, hostPowerCommand, hostShowCommand } from './commands/host.js';
import { keysRotateCommand } from './commands/keys.js';
import { machineCreateCommand, machineDeleteCommand, machineListCommand, machineShowCommand } from './commands/machine.js';
import { tokenCreateCommand, tokenListCommand, tokenRevokeCommand } from './commands/token.js';

export const commands: Command[] = [
  daemonCommand,
  configCheckCommand,
  configKeysCommand,
  keysRotateCommand,
  tokenCreateCommand,
  tokenListCommand,
  tokenRevokeCommand,
  hostAddCommand,
  hostListCommand,
  hostShowCommand,
  hostEditCommand,
  hostPowerCommand,
  hostDeleteCommand,
  hostInspectCommand,
  hostLogsCommand,
  machineCreateCommand,
  machineDeleteCommand,
  machineListCommand,
  machineShowCommand,
];

function overview(): string {
  const width = Math.max(...commands.map((c) => c.path.length));
  return `beskar7 ${version}: bare-metal provisioning for immutable Kubernetes

usage: beskar7 COMMAND [flags]

${commands.map((c) => `  ${c.path.padEnd(width)}  ${c.summary}`).join('\n')}

Commands that talk to the daemon take --url and --token (or BESKAR7_URL, BESKAR7_TOKEN, or url/token in
~/.config/beskar7/cli.yaml) and --json. "beskar7 COMMAND --help" shows a command's flags.
`;
}

/** Runs one CLI invocation; returns the exit code (0 ok, 1 failed, 2 usage or configuration error). */
export async function runCli(argv: string[], io: CliIo): Promise<number> {
  if (argv.length === 0 || argv[0] === 'help' || argv[0] === '--help' || argv[0] === '-h') {
    io.stdout(overview());
    return 0;
  }
  if (argv[0] === 'version' || argv[0] === '--version') {
    io.stdout(`${version}\n`);
    return 0;
  }
  const two = `${argv[0]} ${argv[1] ?? ''}`;
  const command = commands.find((c) => c.path === two) ?? commands.find((c) => c.path === argv[0]);
  if (!command) {
    const group = commands.filter((c) => c.path.startsWith(`${argv[0]} `));
    io.stderr(
      group.length > 0
        ? `beskar7 ${argv[0]}: expected one of: ${group.map((c) => c.path.split(' ')[1]).join(', ')}\n`
        : `beskar7: unknown command "${argv.join(' ')}"\n\n${overview()}`,
    );
    return 2;
  }
  const rest = argv.slice(command.path.split(' ').length);
  try {
    const ctx = parseCommand(command, rest, io);
    if (ctx.values.help) {
      io.stdout(`${command.summary}\n\nusage: ${command.usage}\n`);
      return 0;
    }
    return await command.run(ctx);
  } catch (error) {
    if (error instanceof UsageError || error instanceof ConfigError) {
      io.stderr(`beskar7 ${command.path}: ${error.message}\n`);
      return 2;
    }
    if (error instanceof ApiError || error instanceof DomainError) {
      const details = error.details.map((d) => `\n  ${d.field}: ${d.message}`).join('');
      io.stderr(`beskar7 ${command.path}: ${error.message}${details}\n`);
      return 1;
    }
    if (error instanceof SchemaError || error instanceof KeyringError) {
      io.stderr(`beskar7 ${command.path}: ${error.message}\n`);
      return 1;
    }
    // Anything else (a locked database, a full disk): one readable line; the stack on request.
    const detail = io.env.BESKAR7_DEBUG ? `\n${(error as Error).stack ?? ''}` : '';
    io.stderr(`beskar7 ${command.path}: ${(error as Error).message ?? String(error)}${detail}\n`);
    return 1;
  }
}
