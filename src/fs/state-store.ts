// Adapter: the inventory file in appsd's state directory.
import { statSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { TempFileSweeper, writeFileAtomic } from './atomic.js';
import { InputError } from '../errors.js';
import { unsafeOwnership } from './ownership.js';
import { readRegularFile } from './read.js';

const MAX_INVENTORY_BYTES = 64 * 1024 * 1024;
import { EMPTY_INVENTORY, parseInventory, serializeInventory, type Inventory } from '../plan/inventory.js';

export class StateStore {
  readonly file: string;
  private lastWritten: string | undefined;

  constructor(readonly dir: string) {
    this.file = join(dir, 'inventory.json');
    this.sweeper = new TempFileSweeper(dir);
  }

  async read(): Promise<Inventory> {
    // The inventory says which units appsd may stop and delete: trust it
    // only where nobody else can write.
    for (const path of [this.dir, this.file]) {
      const s = statSync(path, { throwIfNoEntry: false });
      const unsafe = s && unsafeOwnership(path, s);
      if (unsafe) throw new InputError(`state: ${unsafe}`);
    }
    let text: string;
    try {
      text = (await readRegularFile(this.file, MAX_INVENTORY_BYTES)).toString('utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
        // Gone (deleted by hand, say): the next write must write it again.
        this.lastWritten = undefined;
        return EMPTY_INVENTORY;
      }
      throw new InputError(`${this.file}: ${(error as Error).message}; move it aside to start afresh`);
    }
    this.lastWritten = text;
    try {
      return parseInventory(text);
    } catch (error) {
      throw new InputError(`${this.file}: ${(error as Error).message}; move it aside to start afresh`);
    }
  }

  /**
   * Writes only if the content changed: a no-op pass writes nothing. With no
   * apps left, the file is removed: appsd leaves no state behind.
   */
  async write(inventory: Inventory): Promise<boolean> {
    if (Object.keys(inventory.apps).length === 0) {
      if (this.lastWritten === undefined) return false;
      await this.clear();
      return true;
    }
    const text = serializeInventory(inventory);
    if (text === this.lastWritten) return false;
    await mkdir(this.dir, { recursive: true, mode: 0o755 });
    await writeFileAtomic(this.file, text);
    this.lastWritten = text;
    return true;
  }

  private readonly sweeper: TempFileSweeper;

  /** Removes temporary files a crashed appsd left here. */
  sweep(): Promise<string[]> {
    return this.sweeper.sweep();
  }

  async clear(): Promise<void> {
    await rm(this.file, { force: true });
    this.lastWritten = undefined;
  }
}
