import { Injectable } from '@nestjs/common';

/** The app's one source of "now" (epoch ms), so tests can move time without faking timers. */
@Injectable()
export class Clock {
  now(): number {
    return Date.now();
  }
}
