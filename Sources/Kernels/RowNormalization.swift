/// Row-wise L2 normalisation and its backward pass, as free functions over raw row-major buffers.
///
/// A row whose norm is below `rowNormFloor` is divided by the floor instead (like `torch.nn.functional.normalize`).

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
    for r in 0 ..< rows {
        let row = x + r * dim
        var ss: Float = 0
        for j in 0 ..< dim { ss += row[j] * row[j] }
        let norm = Swift.max(ss.squareRoot(), rowNormFloor)
        let inv = 1 / norm
        for j in 0 ..< dim { row[j] *= inv }
        norms?[r] = norm
    }
}

/// Backward of x̂ = x/‖x‖: turns g = dL/dx̂ (rows, dim) into dL/dx = (g − x̂(x̂·g))/‖x‖ in place.
/// normalized x̂ (rows, dim), norms ‖x‖ (rows) as written by `normalizeRows`.
@inlinable
public func normalizeRowsBackward(
    _ g: UnsafeMutablePointer<Float>, normalized: UnsafePointer<Float>, norms: UnsafePointer<Float>, rows: Int, dim: Int
) {
    for r in 0 ..< rows {
        let gr = g + r * dim
        let xr = normalized + r * dim
        let inv = 1 / norms[r]
        if norms[r] <= rowNormFloor {
            for j in 0 ..< dim { gr[j] *= inv }   // the floor is a constant: no projection
            continue
        }
        var dot: Float = 0
        for j in 0 ..< dim { dot += xr[j] * gr[j] }
        for j in 0 ..< dim { gr[j] = (gr[j] - xr[j] * dot) * inv }
    }
}

/// Σ_j a[j]·b[j] over `count` entries.
@inlinable
public func dotProduct(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, count: Int) -> Float {
    var s: Float = 0
    for j in 0 ..< count { s += a[j] * b[j] }
    return s
}
