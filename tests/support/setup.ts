// Every test file runs with the arena's poisoning on: a block handed back (by a scope, or by the
// tape after using a gradient) is filled with NaN and rests before reuse, so code that reads a
// tensor after its storage was recycled fails loudly instead of reading another tensor's numbers.
import { setPoisonOnRelease } from '../../engine/memory.js';

setPoisonOnRelease(true);
