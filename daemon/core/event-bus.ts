import { EventEmitter } from 'node:events';
import type { EventView } from './schemas/event.js';

interface BusEvents {
  /** Published only after the transaction that wrote the event has committed. */
  event: [EventView];
  closing: [];
}

/** Typed in-process bus: the one way components learn about state changes. */
export class EventBus {
  private readonly emitter = new EventEmitter();

  constructor() {
    // Every SSE client subscribes; the number is bounded by connections, not a leak.
    this.emitter.setMaxListeners(0);
  }

  on<K extends keyof BusEvents>(name: K, listener: (...args: BusEvents[K]) => void): () => void {
    this.emitter.on(name, listener as (...args: unknown[]) => void);
    return () => this.emitter.off(name, listener as (...args: unknown[]) => void);
  }

  emit<K extends keyof BusEvents>(name: K, ...args: BusEvents[K]): void {
    this.emitter.emit(name, ...args);
  }
}
