import CPrefetch

/// Loops over random table rows (gathers, sparse Adam, the bank update) wait on memory: each row is a few cache
/// lines that are rarely cached. These hints start loading a row a few iterations before it is used, so that
/// several rows' misses are in flight at once. They change no value.

/// How many rows ahead the row loops ask for their rows.
public let prefetchDistance = 4

/// Asks for the `count` floats at `row` (for reading).
@inlinable @inline(__always)
public func prefetchRow(_ row: UnsafePointer<Float>, count: Int) {
    var offset = 0
    while offset < count {
        cprefetch_read(row + offset)
        offset += 16   // one 64-byte line
    }
    cprefetch_read(row + (count - 1))
}

/// Asks for the `count` floats at `row`, which are about to be written.
@inlinable @inline(__always)
public func prefetchRowForWriting(_ row: UnsafeMutablePointer<Float>, count: Int) {
    var offset = 0
    while offset < count {
        cprefetch_write(row + offset)
        offset += 16
    }
    cprefetch_write(row + (count - 1))
}
