// Vectorised row primitives for the softmax kernels: maximum, exp-and-sum, subtract, written over SIMD16<Float> so
// that they do not depend on the auto-vectoriser (which cannot vectorise `exp` or a float reduction).

import CFastExp
#if arch(x86_64)
import _Builtin_intrinsics.intel
#endif

typealias Float16x = SIMD16<Float>

/// a, with the lanes where `mask` is set taken from b: a branch-free blend (the standard library's `pointwiseMax`
/// and `clamped` are NaN-aware lane by lane and do not vectorise).
@inline(__always)
func select(_ a: Float16x, _ b: Float16x, where mask: SIMDMask<SIMD16<Int32>>) -> Float16x {
    let m = unsafeBitCast(mask, to: SIMD16<UInt32>.self)
    let blended = (unsafeBitCast(a, to: SIMD16<UInt32>.self) & ~m) | (unsafeBitCast(b, to: SIMD16<UInt32>.self) & m)
    return unsafeBitCast(blended, to: Float16x.self)
}

/// The largest of x[0..<count] (−∞ for count 0).
@inline(__always)
func rowMaximum(_ x: UnsafePointer<Float>, count: Int) -> Float {
    var best = Float16x(repeating: -.infinity)
    var i = 0
    while i + 16 <= count {
        let v = UnsafeRawPointer(x + i).loadUnaligned(as: Float16x.self)
        best = select(best, v, where: v .> best)
        i += 16
    }
    var m = best.max()
    while i < count { m = Swift.max(m, x[i]); i += 1 }
    return m
}

/// e^x for x ≤ 1 (softmax arguments after the shift) on eight lanes, branch-free: Cody–Waite range reduction
/// x = n·ln2 + r, |r| ≤ ln2/2, and a degree-5 polynomial for e^r fitted for relative error (below 3e-7 in
/// float32). Everything at or below about −87.7 (including −∞, a masked column) and NaN give 0 exactly. `CFastExp`
/// has the same algorithm with fused multiply-adds.
@inline(__always)
func branchFreeExp(_ x: SIMD8<Float>) -> SIMD8<Float> {
    // Adding 1.5·2²³ rounds to an integer; the 127 more leaves n + 127, the biased exponent of 2ⁿ, in the low
    // mantissa bits, so that shifting them up gives 2ⁿ. Clamped at −88 (NaN too), where n + 127 is 0 and 2ⁿ is +0.
    let magic = SIMD8<Float>(repeating: 12_583_039)
    let clamped = x.replacing(with: -88, where: .!(x .>= -88))   // NaN too
    let t = clamped * 1.442_695_04 + magic
    let n = t - magic
    var r = clamped - n * 0.693_359_375
    r = r + n * 2.121_944_4e-4
    var p = SIMD8<Float>(repeating: 8.290_314_55e-3)
    p = p * r + 4.189_792_96e-2
    p = p * r + 1.666_763_62e-1
    p = p * r + 4.999_914_95e-1
    p = p * r + 9.999_997_07e-1
    let y = p * r + 1
    return y * unsafeBitCast(unsafeBitCast(t, to: SIMD8<Int32>.self) &<< 23, to: SIMD8<Float>.self)
}

/// The same for one value (the tails of the row passes).
@inline(__always)
func branchFreeExp(_ x: Float) -> Float { branchFreeExp(SIMD8(repeating: x))[0] }

/// weights[i] ← e^(logits[i] − shift) and logits[i] ← 0 for i < count; returns Σ of the weights (float32 lanes,
/// summed in float64 at the end). One pass: each group of eight is exponentiated, stored and added while in
/// registers. Writing the 0 while the logit is in cache keeps the logits block zero for the next GEMM that
/// accumulates onto it.
/// On a CPU with AVX2 and FMA, the same pass in C (`cfastexp_row`: the same algorithm with fused multiply-adds,
/// about half the instructions; results within rounding of these).
@inline(__always)
func exponentiateRow(_ logits: UnsafeMutablePointer<Float>, into weights: UnsafeMutablePointer<Float>, count: Int,
                     shift: Float) -> Double {
    if exponentiationUsesFMA { return cfastexp_row(logits, weights, count, shift) }
    return exponentiateRowPortably(logits, into: weights, count: count, shift: shift)
}

/// Whether `exponentiateRow` runs the AVX2 + FMA kernel.
let exponentiationUsesFMA = cfastexp_available() != 0

/// `exponentiateRow` in Swift, for every CPU; with `weights` == `logits`, in place (the logits become the weights).
@inline(__always)
func exponentiateRowPortably(_ logits: UnsafeMutablePointer<Float>, into weights: UnsafeMutablePointer<Float>,
                             count: Int, shift: Float) -> Double {
    let clearLogits = logits != weights   // the same buffer: in place, the weights stay
    let zero = SIMD8<Float>(), s = SIMD8<Float>(repeating: shift)
    var acc = SIMD8<Float>()
    var i = 0
    while i + 8 <= count {
        let w = branchFreeExp(load8(logits + i) - s)
        store8(w, weights + i)
        if clearLogits { store8(zero, logits + i) }
        acc += w
        i += 8
    }
    var total = Double(acc.sum())
    while i < count {
        let w = branchFreeExp(logits[i] - shift)
        weights[i] = w
        if clearLogits { logits[i] = 0 }
        total += Double(w)
        i += 1
    }
    return total
}

/// row[i] ← e^(row[i] − shift) for i < count; returns their sum, as `exponentiateRow` does (and, like it, with
/// AVX2 + FMA where the CPU has them).
@inline(__always)
func exponentiateRowInPlace(_ row: UnsafeMutablePointer<Float>, count: Int, shift: Float) -> Double {
    if exponentiationUsesFMA { return cfastexp_row_in_place(row, count, shift) }
    return exponentiateRowInPlacePortably(row, count: count, shift: shift)
}

/// `exponentiateRowInPlace` in Swift, for every CPU.
@inline(__always)
func exponentiateRowInPlacePortably(_ row: UnsafeMutablePointer<Float>, count: Int, shift: Float) -> Double {
    exponentiateRowPortably(row, into: row, count: count, shift: shift)
}

/// x[i] ← x[i] · factor for i < count.
@inline(__always)
func scaleRow(_ x: UnsafeMutablePointer<Float>, by factor: Float, count: Int) {
    var i = 0
    while i + 8 <= count {
        store8(load8(x + i) * factor, x + i)
        i += 8
    }
    while i < count { x[i] *= factor; i += 1 }
}

/// √x lane by lane (correctly rounded, like `Float.squareRoot()`); the standard library's SIMD square root is a
/// loop of scalar calls.
@inline(__always)
func squareRoot(_ x: SIMD8<Float>) -> SIMD8<Float> {
    #if arch(x86_64)
    SIMD8(lowHalf: _mm_sqrt_ps(x.lowHalf), highHalf: _mm_sqrt_ps(x.highHalf))
    #else
    x.squareRoot()
    #endif
}

/// x[i] ← x[i] − y[i] for i < count.
@inline(__always)
func subtractRow(_ x: UnsafeMutablePointer<Float>, _ y: UnsafePointer<Float>, count: Int) {
    var i = 0
    while i + 16 <= count {
        let raw = UnsafeMutableRawPointer(x + i)
        let v = raw.loadUnaligned(as: Float16x.self) - UnsafeRawPointer(y + i).loadUnaligned(as: Float16x.self)
        raw.storeBytes(of: v, as: Float16x.self)
        i += 16
    }
    while i < count { x[i] -= y[i]; i += 1 }
}

@usableFromInline @inline(__always)
func load8(_ p: UnsafePointer<Float>) -> SIMD8<Float> { UnsafeRawPointer(p).loadUnaligned(as: SIMD8<Float>.self) }

@inline(__always)
func load8(_ p: UnsafeMutablePointer<Float>) -> SIMD8<Float> { load8(UnsafePointer(p)) }

@inline(__always)
func store8(_ v: SIMD8<Float>, _ p: UnsafeMutablePointer<Float>) { UnsafeMutableRawPointer(p).storeBytes(of: v, as: SIMD8<Float>.self) }
