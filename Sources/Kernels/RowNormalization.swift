/// Row-wise L2 normalisation and its backward pass, as free functions over raw row-major buffers.
///
/// A row whose norm is below `rowNormFloor` is divided by the floor instead (like `torch.nn.functional.normalize`).
/// Every row's reduction (Σ x², x̂·g) is `dotProduct`'s, in its fixed order, so a row gives the same bits whichever
/// function reduces it; four rows are reduced side by side so that their sums share the adders.

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

/// Σ_j a[j]·b[j] over `count` entries, in a fixed order: eight lanes, lane l summing the products j ≡ l (mod 8) of
/// the whole groups of eight in order; the lanes added pairwise (l and l + 4, then those and the pair two apart,
/// then the last two); then the tail, j = 8⌊count/8⌋, …, count − 1, in order. The same inputs give the same bits on
/// every machine.
@inlinable
public func dotProduct(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, count: Int) -> Float {
    var lanes = SIMD8<Float>()
    var j = 0
    while j + 8 <= count {
        lanes += load8(a + j) * load8(b + j)
        j += 8
    }
    var s = laneSum(lanes)
    while j < count { s += a[j] * b[j]; j += 1 }
    return s
}

/// Four dot products a_i·b_i, each bit for bit what `dotProduct` gives, in one loop (four independent sums).
@inlinable
public func rowDotProducts(
    _ a0: UnsafePointer<Float>, _ b0: UnsafePointer<Float>, _ a1: UnsafePointer<Float>, _ b1: UnsafePointer<Float>,
    _ a2: UnsafePointer<Float>, _ b2: UnsafePointer<Float>, _ a3: UnsafePointer<Float>, _ b3: UnsafePointer<Float>,
    count: Int
) -> SIMD4<Float> {
    var l0 = SIMD8<Float>(), l1 = SIMD8<Float>(), l2 = SIMD8<Float>(), l3 = SIMD8<Float>()
    var j = 0
    while j + 8 <= count {
        l0 += load8(a0 + j) * load8(b0 + j)
        l1 += load8(a1 + j) * load8(b1 + j)
        l2 += load8(a2 + j) * load8(b2 + j)
        l3 += load8(a3 + j) * load8(b3 + j)
        j += 8
    }
    var s = SIMD4(laneSum(l0), laneSum(l1), laneSum(l2), laneSum(l3))
    while j < count {
        s += SIMD4(a0[j], a1[j], a2[j], a3[j]) * SIMD4(b0[j], b1[j], b2[j], b3[j])
        j += 1
    }
    return s
}

/// The sum of the eight lanes in `dotProduct`'s order.
@usableFromInline @inline(__always)
func laneSum(_ v: SIMD8<Float>) -> Float {
    let four = v.lowHalf + v.highHalf
    let two = four.lowHalf + four.highHalf
    return two[0] + two[1]
}

/// destination[j] ← source[j]·scale for j < count (destination may be source).
@inlinable
public func scaleRow(_ destination: UnsafeMutablePointer<Float>, from source: UnsafePointer<Float>, by scale: Float,
                     count: Int) {
    for j in 0 ..< count { destination[j] = source[j] * scale }
}
