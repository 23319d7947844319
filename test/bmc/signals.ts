import type { BmcEmulator } from './types.js';

/** SIGTERM/SIGINT stop the emulator cleanly (sockets closed) and exit; a second signal is ignored. */
export function stopOnSignals(emulator: BmcEmulator): void {
  let stopping = false;
  const shutdown = (): void => {
    if (stopping) return;
    stopping = true;
    emulator.stop().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on('SIGTERM', shutdown);
  process.on('SIGINT', shutdown);
}
