// Module Wire.
