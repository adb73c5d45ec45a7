// Module MemoryBank.
