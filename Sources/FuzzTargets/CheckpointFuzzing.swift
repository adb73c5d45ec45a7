import Coordinator
import Foundation
import Kernels
import Wire

/// Checkpoint files. The first byte chooses the form of the rest: even, the whole file as it is on disk (so the
/// magic, length and checksum checks are tried); odd, a body that is given a correct magic, length and checksum
/// (so the fuzzer reaches the body's fields instead of failing the checksum). A file that decodes must re-encode
/// to the same bytes and either restore into training state or be refused with an error.
enum CheckpointFuzzing {
    static let optimizers = [
        OptimizerSettings(kind: .adam, learningRate: 0.05), OptimizerSettings(kind: .adagrad, learningRate: 0.05),
        OptimizerSettings(kind: .sgd, learningRate: 0.05),
    ]

    static func run(_ input: [UInt8]) throws(FuzzFailure) {
        guard let mode = input.first else { return }
        let rest = Array(input.dropFirst())
        let file = mode & 1 == 0 ? rest : framed(body: rest)
        guard let checkpoint = try? Checkpoint.decode(Data(file), path: "fuzz.mbt") else { return }
        guard checkpoint.encodedBytes() == file else {
            throw FuzzFailure("a decoded checkpoint does not re-encode to its \(file.count) bytes")
        }
        let optimizer = optimizers[Int(mode >> 1) % optimizers.count]
        _ = try? checkpoint.restore(optimizer: optimizer)
    }

    /// Magic, body length, body, CRC32C of the body: the layout `Checkpoint.encodedBytes` writes.
    static func framed(body: [UInt8]) -> [UInt8] {
        var w = ByteWriter(capacity: body.count + 16)
        w.bytes += Array("MBTCKPT1".utf8)
        w.u32(UInt32(body.count))
        w.bytes += body
        w.u32(CRC32C.checksum(body))
        return w.bytes
    }
}
