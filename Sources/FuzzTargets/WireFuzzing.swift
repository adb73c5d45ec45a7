import Kernels
import Replication
import Wire

/// The wire decoders: whole envelopes, every payload, and snapshot chunks as the worker stores them.
enum WireFuzzing {
    /// The input is a list of frames (see `FuzzInput`), decoded as a received multipart message. Whatever decodes
    /// must re-encode to the same two frames.
    static func envelope(_ input: [UInt8]) throws(FuzzFailure) {
        let frames = FuzzInput.frames(input)
        if frames.count == 2 { _ = try? WireCodec.decodeHeader(frames[0], payload: frames[1]) }
        guard let envelope = try? WireCodec.decode(frames: frames) else { return }
        let again = WireCodec.encode(envelope)
        guard [again.header, again.payload] == frames else {
            throw FuzzFailure("\(envelope.message.name) does not re-encode to its frames")
        }
    }

    /// The first byte is the tag (so unknown tags are tried too), the rest the payload.
    static func message(_ input: [UInt8]) throws(FuzzFailure) {
        guard let tag = input.first else { return }
        _ = try WireCodec.fuzzDecode(tag: UInt16(tag), payload: Array(input.dropFirst()))
    }

    /// Each frame of the input is a SNAPSHOT payload; those that decode are stored, in order, into a replica of
    /// 3 users, 4 items and dim 2, the way a worker loads a snapshot. A load may only complete once every chunk
    /// index of its version has been stored.
    static func snapshotChunks(_ input: [UInt8]) throws(FuzzFailure) {
        let replica = Replica(userCount: 3, itemCount: 4, dim: 2)
        var loading: (version: UInt64, indexes: Set<Int>)?
        for payload in FuzzInput.frames(input) {
            guard let envelope = try WireCodec.fuzzDecode(tag: MessageTag.snapshot.rawValue, payload: payload),
                  case let .snapshot(chunk) = envelope.message else { continue }
            guard let progress = try? replica.receive(chunk) else { continue }
            if loading == nil || loading!.version < chunk.version { loading = (chunk.version, []) }
            if loading!.version == chunk.version { loading!.indexes.insert(chunk.chunkIndex) }
            switch progress {
            case let .incomplete(received, of):
                guard received < of || of == 0 else {
                    throw FuzzFailure("replica counts \(received) of \(of) chunks received but is not complete")
                }
            case let .complete(version):
                guard replica.version == version, version == chunk.version,
                      loading?.indexes == Set(0 ..< chunk.chunkCount) else {
                    throw FuzzFailure("replica completed version \(version) with chunks \(loading?.indexes.sorted() ?? [])"
                        + " of \(chunk.chunkCount); it holds \(String(describing: replica.version))")
                }
                loading = nil
            }
        }
    }
}
