internal import CZlib

/// Streaming gzip (and zlib) decompression over zlib's `inflate`, for
/// `.gz` captures and logs: compressed chunks in, decompressed chunks out,
/// never the whole file in memory. Concatenated gzip members (as `cat a.gz
/// b.gz` or pigz produce) are read one after the other.
final class GzipInflater {
    /// Decompressed bytes handed over per call; also the working buffer size.
    static let outputChunk = 256 * 1024

    private var stream = z_stream()
    private var output = [UInt8](repeating: 0, count: GzipInflater.outputChunk)
    /// The current member ended cleanly (nothing half-decoded is pending).
    private(set) var atMemberEnd = false
    private(set) var totalOut: Int64 = 0

    enum Failure: Error, Equatable {
        case initFailed
        case corrupt(String)
    }

    init() throws(Failure) {
        guard geneva_inflate_init(&stream) == Z_OK else { throw .initFailed }
    }

    deinit {
        inflateEnd(&stream)
    }

    /// Decompresses `input`, calling `body` with each block of output.
    func inflate(_ input: ArraySlice<UInt8>, _ body: (ArraySlice<UInt8>) throws -> Void) throws {
        var input = input
        while !input.isEmpty {
            let consumed: Int
            let produced: Int
            let status: Int32
            (consumed, produced, status) = input.withUnsafeBytes { inBuffer in
                output.withUnsafeMutableBytes { outBuffer in
                    // Invariant: zlib reads at most avail_in bytes from next_in and
                    // writes at most avail_out bytes to next_out, both within the
                    // buffers borrowed for the duration of this closure.
                    stream.next_in = UnsafeMutablePointer(mutating: inBuffer.bindMemory(to: Bytef.self).baseAddress)
                    stream.avail_in = uInt(inBuffer.count)
                    stream.next_out = outBuffer.bindMemory(to: Bytef.self).baseAddress
                    stream.avail_out = uInt(outBuffer.count)
                    let status = CZlib.inflate(&stream, Z_NO_FLUSH)
                    return (inBuffer.count - Int(stream.avail_in), outBuffer.count - Int(stream.avail_out), status)
                }
            }
            stream.next_in = nil
            stream.next_out = nil
            input = input.dropFirst(consumed)
            if produced > 0 {
                totalOut += Int64(produced)
                atMemberEnd = false
                try body(output[0..<produced])
            }
            switch status {
            case Z_OK, Z_BUF_ERROR:
                if consumed == 0 && produced == 0 { return }
            case Z_STREAM_END:
                atMemberEnd = true
                // Another gzip member may follow.
                guard inflateReset(&stream) == Z_OK else { throw Failure.corrupt("cannot reset inflater") }
            default:
                let message = stream.msg.map { String(cString: $0) } ?? "error \(status)"
                throw Failure.corrupt(message)
            }
        }
    }
}
