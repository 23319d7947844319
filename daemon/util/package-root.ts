import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

// Source runs from <root>/daemon/..., the build from <root>/dist/daemon/...; assets such as
// migrations and templates live at <root>, so walk up to the directory holding package.json.
export function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'db', 'migrations'))) return dir;
    const parent = dirname(dir);
    if (parent === dir) throw new Error('cannot locate the beskar7 package root (db/migrations not found)');
    dir = parent;
  }
}
