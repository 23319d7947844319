import { createLogger } from '../../log/logger.js';
import { Daemon } from '../../process/daemon.js';
import type { Command } from '../command.js';
import { configOptions, loadFromFlags } from './local-config.js';

export const daemonCommand: Command = {
  path: 'daemon',
  summary: 'run the provisioning daemon in the foreground',
  usage: 'beskar7 daemon [--config FILE] [--data-dir DIR] [--host ADDR] [--port N] [--log-level L] [--set key=value ...]',
  options: configOptions,
  async run(ctx) {
    const loaded = loadFromFlags(ctx);
    const logger = createLogger(loaded.config.log.level);
    const daemon = new Daemon({ loaded, logger, announce: ctx.io.stderr });
    try {
      await daemon.start();
    } catch (error) {
      logger.fatal({ err: error }, 'daemon failed to start');
      await daemon.stop().catch(() => undefined);
      logger.flush();
      ctx.io.stderr(`beskar7: ${(error as Error).message}\n`);
      return 1;
    }
    let signals = 0;
    const stopped = new Promise<void>((resolve) => {
      const onSignal = (signal: NodeJS.Signals) => {
        signals++;
        if (signals > 1) {
          logger.warn({ signal }, 'second signal: exiting without draining');
          logger.flush();
          process.exit(1);
        }
        logger.info({ signal }, 'signal received');
        void daemon.stop().then(resolve, (error: unknown) => {
          logger.error({ err: error }, 'error while stopping');
          resolve();
        });
      };
      process.on('SIGTERM', onSignal);
      process.on('SIGINT', onSignal);
    });
    await stopped;
    // Returning lets the event loop empty, which flushes what pino still buffers. A BMC request
    // abandoned by the engine's stop may still hold a socket: it must not hold the process.
    logger.flush();
    setTimeout(() => process.exit(0), 1000).unref();
    return 0;
  },
};
