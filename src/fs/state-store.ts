// Adapter: the inventory file in appsd's state directory.
import { statSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { TempFileSweeper, writeFileAtomic } from './atomic.js';
import { InputError } from '../errors.js';
import { unsafeOwnership } from './ownership.js';
import { readRegularFile, statKey } from './read.js';

const MAX_INVENTORY_BYTES = 64 * 1024 * 1024;
import { EMPTY_INVENTORY, parseInventory, sameInventory, serializeInventory, type Inventory } from '../plan/inventory.js';

export class StateStore {
  readonly file: string;
  private lastWritten: string | undefined;
  /**
   * The inventory last read or written (the file's content), and the file's
   * stat key when it was read: an unchanged file is not read and parsed
   * again, and an unchanged inventory is not serialized to be compared.
   */
  private last: { readonly inventory: Inventory; readonly key?: string } | undefined;

  constructor(readonly dir: string) {
    this.file = join(dir, 'inventory.json');
    this.sweeper = new TempFileSweeper(dir);
  }

  async read(): Promise<Inventory> {
    // The inventory says which units appsd may stop and delete: trust it
    // only where nobody else can write.
    let key: string | undefined;
    for (const path of [this.dir, this.file]) {
      const s = statSync(path, { throwIfNoEntry: false });
      const unsafe = s && unsafeOwnership(path, s);
      if (unsafe) throw new InputError(`state: ${unsafe}`);
      if (s && path === this.file) key = statKey(s);
    }
    if (key !== undefined && this.last?.key === key && this.lastWritten !== undefined) return this.last.inventory;
    let text: string;
    try {
      text = (await readRegularFile(this.file, MAX_INVENTORY_BYTES)).toString('utf8');
    } catch (error) {
      this.last = undefined;
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
        // Gone (deleted by hand, say): the next write must write it again.
        this.lastWritten = undefined;
        return EMPTY_INVENTORY;
      }
      throw new InputError(`${this.file}: ${(error as Error).message}; move it aside to start afresh`);
    }
    this.lastWritten = text;
    let inventory: Inventory;
    try {
      inventory = parseInventory(text);
    } catch (error) {
      this.last = undefined;
      throw new InputError(`${this.file}: ${(error as Error).message}; move it aside to start afresh`);
    }
    // Keyed by the stat taken before reading: a change after it makes the next key differ.
    this.last = { inventory, ...(key !== undefined && { key }) };
    return inventory;
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
    if (this.lastWritten !== undefined && this.last && sameInventory(inventory, this.last.inventory)) return false;
    const text = serializeInventory(inventory);
    if (text === this.lastWritten) return false;
    await mkdir(this.dir, { recursive: true, mode: 0o755 });
    this.last = undefined;
    await writeFileAtomic(this.file, text);
    this.lastWritten = text;
    // No stat key: the next read reads the new file once, and keys it.
    this.last = { inventory };
    return true;
  }

  private readonly sweeper: TempFileSweeper;

  /** Removes temporary files a crashed appsd left here. */
  sweep(): Promise<string[]> {
    return this.sweeper.sweep();
  }

  async clear(): Promise<void> {
    this.last = undefined;
    await rm(this.file, { force: true });
    this.lastWritten = undefined;
  }
}
