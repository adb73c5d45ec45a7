import Foundation

/// A separate host for partition tests: a network namespace joined to this one by a veth pair, with addresses of
/// its own (10.213.x.0/24, private to this machine). Needs root and iproute2.
public final class NetworkNamespace {
    public let name: String
    public let hostInterface: String
    public let hostAddress: String
    public let namespaceAddress: String

    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    public init(name: String) throws {
        self.name = name
        hostInterface = "\(name)h"
        let subnet = 1 + Int(getpid() % 250)
        hostAddress = "10.213.\(subnet).1"
        namespaceAddress = "10.213.\(subnet).2"
        remove()
        try run("netns", "add", name)
        try run("link", "add", hostInterface, "type", "veth", "peer", "name", "\(name)n")
        try run("link", "set", "\(name)n", "netns", name)
        try run("addr", "add", "\(hostAddress)/24", "dev", hostInterface)
        try run("link", "set", hostInterface, "up")
        try run("netns", "exec", name, "ip", "addr", "add", "\(namespaceAddress)/24", "dev", "\(name)n")
        try run("netns", "exec", name, "ip", "link", "set", "\(name)n", "up")
        try run("netns", "exec", name, "ip", "link", "set", "lo", "up")
    }

    /// Takes the host side of the link down (a partition) or up again.
    public func setLink(up: Bool) throws {
        try run("link", "set", hostInterface, up ? "up" : "down")
    }

    public func remove() {
        _ = try? run("link", "del", hostInterface)
        _ = try? run("netns", "del", name)
    }

    @discardableResult
    func run(_ arguments: String...) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/sbin/ip")
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        process.waitUntilExit()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        guard process.terminationStatus == 0 else {
            throw Failure(description: "ip \(arguments.joined(separator: " ")) failed: \(output)")
        }
        return output
    }
}
