/// Row-wise L2 normalisation and its backward pass, as free functions over raw row-major buffers.
///
/// A row whose norm is below `rowNormFloor` is divided by the floor instead (like `torch.nn.functional.normalize`).
/// Every row's reduction (Σ x², x̂·g) is summed in column order j = 0, 1, …, like a plain loop over that row; four
/// rows are reduced side by side so that four independent sums share the adder instead of one sum waiting on each
/// addition.

public let rowNormFloor: Float = 1e-12

/// L2-normalises each row of x (n, d) in place.
public func normalizeRows(_ x: inout [Float], dim: Int) {
    precondition(dim > 0 && x.count % dim == 0, "normalizeRows: \(x.count) values are not rows of dim \(dim)")
    let n = x.count / dim
    x.withUnsafeMutableBufferPointer { normalizeRows($0.baseAddress!, norms: nil, rows: n, dim: dim) }
}

/// L2-normalises each row of x (rows, dim) in place; writes each row's (floored) norm into norms (rows) if given.
@inlinable
public func normalizeRows(_ x: UnsafeMutablePointer<Float>, norms: UnsafeMutablePointer<Float>?, rows: Int, dim: Int) {
    var r = 0
    while r < rows {
        let group = Swift.min(4, rows - r)
        let row = { (i: Int) in UnsafePointer(x + (r + Swift.min(i, group - 1)) * dim) }
        let ss = rowDotProducts(row(0), row(0), row(1), row(1), row(2), row(2), row(3), row(3), count: dim)
        for i in 0 ..< group {
            let norm = Swift.max(ss[i].squareRoot(), rowNormFloor)
            scaleRow(x + (r + i) * dim, from: x + (r + i) * dim, by: 1 / norm, count: dim)
            norms?[r + i] = norm
        }
        r += group
    }
}

/// Backward of x̂ = x/‖x‖: turns g = dL/dx̂ (rows, dim) into dL/dx = (g − x̂(x̂·g))/‖x‖ in place.
/// normalized x̂ (rows, dim), norms ‖x‖ (rows) as written by `normalizeRows`.
@inlinable
public func normalizeRowsBackward(
    _ g: UnsafeMutablePointer<Float>, normalized: UnsafePointer<Float>, norms: UnsafePointer<Float>, rows: Int, dim: Int
) {
    var r = 0
    while r < rows {
        let group = Swift.min(4, rows - r)
        let xr = { (i: Int) in normalized + (r + Swift.min(i, group - 1)) * dim }
        let gr = { (i: Int) in UnsafePointer(g + (r + Swift.min(i, group - 1)) * dim) }
        let dots = rowDotProducts(xr(0), gr(0), xr(1), gr(1), xr(2), gr(2), xr(3), gr(3), count: dim)
        for i in 0 ..< group {
            let grow = g + (r + i) * dim, xrow = normalized + (r + i) * dim
            let inv = 1 / norms[r + i]
            if norms[r + i] <= rowNormFloor {
                for j in 0 ..< dim { grow[j] *= inv }   // the floor is a constant: no projection
                continue
            }
            let dot = dots[i]
            for j in 0 ..< dim { grow[j] = (grow[j] - xrow[j] * dot) * inv }
        }
        r += group
    }
}

/// Copies table rows ids (n) into destination (n, dim) and L2-normalises them there (one pass: the same values as
/// a copy followed by `normalizeRows`); writes each row's (floored) norm into norms (n) if given.
public func gatherNormalizedRows(
    _ table: EmbeddingTable, ids: UnsafeBufferPointer<UInt32>, into destination: UnsafeMutablePointer<Float>,
    norms: UnsafeMutablePointer<Float>?
) {
    let d = table.dim, tableRows = table.rows, n = ids.count
    table.withUnsafeValues { values in
        let src = values.baseAddress!
        var r = 0
        while r < n {
            let group = Swift.min(4, n - r)
            for i in 0 ..< group {
                precondition(Int(ids[r + i]) < tableRows, "row id \(ids[r + i]) outside 0..<\(tableRows)")
            }
            for i in stride(from: r + prefetchDistance, to: Swift.min(r + prefetchDistance + group, n), by: 1) {   // random rows
                prefetchRow(src + Int(ids[i]) * d, count: d)
            }
            let row = { (i: Int) in src + Int(ids[r + Swift.min(i, group - 1)]) * d }
            let ss = rowDotProducts(row(0), row(0), row(1), row(1), row(2), row(2), row(3), row(3), count: d)
            for i in 0 ..< group {
                let norm = Swift.max(ss[i].squareRoot(), rowNormFloor)
                scaleRow(destination + (r + i) * d, from: row(i), by: 1 / norm, count: d)
                norms?[r + i] = norm
            }
            r += group
        }
    }
}

/// Σ_j a[j]·b[j] over `count` entries.
@inlinable
public func dotProduct(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, count: Int) -> Float {
    var s: Float = 0
    for j in 0 ..< count { s += a[j] * b[j] }
    return s
}

/// Four dot products a_i·b_i, each summed in order j = 0, 1, … (bit for bit what `dotProduct` gives), in one loop.
@inlinable
public func rowDotProducts(
    _ a0: UnsafePointer<Float>, _ b0: UnsafePointer<Float>, _ a1: UnsafePointer<Float>, _ b1: UnsafePointer<Float>,
    _ a2: UnsafePointer<Float>, _ b2: UnsafePointer<Float>, _ a3: UnsafePointer<Float>, _ b3: UnsafePointer<Float>,
    count: Int
) -> SIMD4<Float> {
    var s = SIMD4<Float>()
    for j in 0 ..< count {
        s += SIMD4(a0[j], a1[j], a2[j], a3[j]) * SIMD4(b0[j], b1[j], b2[j], b3[j])
    }
    return s
}

/// destination[j] ← source[j]·scale for j < count (destination may be source).
@inlinable
public func scaleRow(_ destination: UnsafeMutablePointer<Float>, from source: UnsafePointer<Float>, by scale: Float,
                     count: Int) {
    for j in 0 ..< count { destination[j] = source[j] * scale }
}
