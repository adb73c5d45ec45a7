// Module Worker.
