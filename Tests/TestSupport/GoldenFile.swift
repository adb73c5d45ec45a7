import Foundation

/// A float64 reference file from `../shared/golden` (beside the package root), read-only; never copied into the repo.
public struct GoldenFile {
    public let name: String
    private let object: [String: Any]

    /// Loads `<package root>/../shared/golden/<name>.json`; the package root is found from the caller's `#filePath`.
    public init(_ name: String, filePath: String = #filePath) throws {
        self.name = name
        let url = GoldenFile.packageRoot(from: filePath)
            .deletingLastPathComponent()
            .appendingPathComponent("shared/golden/\(name).json")
        let data = try Data(contentsOf: url)
        guard let object = try JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw GoldenFileError(description: "\(url.path) is not a JSON object")
        }
        self.object = object
    }

    /// The nearest ancestor directory of `filePath` that holds a Package.swift.
    public static func packageRoot(from filePath: String) -> URL {
        var dir = URL(fileURLWithPath: filePath).deletingLastPathComponent()
        while dir.path != "/" {
            if FileManager.default.fileExists(atPath: dir.appendingPathComponent("Package.swift").path) { return dir }
            dir = dir.deletingLastPathComponent()
        }
        preconditionFailure("no Package.swift above \(filePath)")
    }

    public func number(_ key: String) -> Double {
        guard let value = object[key] as? NSNumber else { preconditionFailure("\(name): \(key) is not a number") }
        return value.doubleValue
    }

    public func vector(_ key: String) -> [Double] {
        guard let value = object[key] as? [NSNumber] else { preconditionFailure("\(name): \(key) is not a vector") }
        return value.map(\.doubleValue)
    }

    public func matrix(_ key: String) -> [[Double]] {
        guard let value = object[key] as? [[NSNumber]] else { preconditionFailure("\(name): \(key) is not a matrix") }
        return value.map { $0.map(\.doubleValue) }
    }

    public func ids(_ key: String) -> [UInt32] { vector(key).map { UInt32($0) } }
}

public struct GoldenFileError: Error, CustomStringConvertible {
    public let description: String
}

/// Largest |actual − expected| / (|expected| + floor · max|expected|) over the entries; 0 for empty input.
/// `floor` keeps entries near zero from dominating a relative comparison.
public func maxRelativeError(_ actual: [Double], _ expected: [Double], floor: Double = 1e-2) -> Double {
    precondition(actual.count == expected.count, "comparing \(actual.count) values with \(expected.count)")
    let scale = expected.map(abs).max() ?? 0
    var worst = 0.0
    for (a, e) in zip(actual, expected) {
        let denominator = abs(e) + floor * scale
        let err = denominator > 0 ? abs(a - e) / denominator : abs(a - e)
        worst = max(worst, a.isNaN ? .infinity : err)
    }
    return worst
}

/// Row-major flattening of a matrix.
public func flatten(_ rows: [[Double]]) -> [Double] { rows.flatMap { $0 } }
