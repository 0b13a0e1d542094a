import CPcap
import Foundation

/// libpcap settings of a live capture (`capture:` in sensor.yaml).
package struct CaptureSettings: Sendable, Equatable {
    /// BPF filter (tcpdump syntax); empty: every packet.
    package var filter: String = ""
    package var snaplen: Int32 = 262_144
    package var promiscuous: Bool = true
    /// Kernel ring buffer, bytes.
    package var bufferBytes: Int32 = 32 << 20
    /// Packets handed over as they arrive instead of a buffer at a time.
    package var immediate: Bool = false
    /// Longest wait for a buffer to fill, milliseconds (libpcap's timeout).
    package var timeoutMilliseconds: Int32 = 100

    package init() {}
}

/// One live interface through libpcap. The handle is made, configured and
/// activated in `init`, read with ``dispatch(_:)`` from one thread at a time,
/// and closed in `deinit`; ``stats()`` may be called from that same thread.
package final class LiveCapture {
    package let interface: String
    /// LINKTYPE_ value of the interface (what a pcap file header would say).
    package let linkType: UInt32
    private let handle: OpaquePointer
    private let selectable: Int32

    package init(interface: String, settings: CaptureSettings) throws {
        self.interface = interface
        var errbuf = [CChar](repeating: 0, count: Int(geneva_pcap_errbuf_size()))
        guard let h = pcap_create(interface, &errbuf) else {
            throw SensorError("capture on \(interface): \(errbuf.withUnsafeBufferPointer { String(cString: $0.baseAddress!) })")
        }
        func check(_ rc: Int32, _ what: String) throws {
            if rc != 0 {
                pcap_close(h)
                throw SensorError("capture on \(interface): cannot set \(what): \(String(cString: pcap_statustostr(rc)))")
            }
        }
        try check(pcap_set_snaplen(h, settings.snaplen), "snaplen")
        try check(pcap_set_promisc(h, settings.promiscuous ? 1 : 0), "promiscuous mode")
        try check(pcap_set_buffer_size(h, settings.bufferBytes), "buffer size")
        try check(pcap_set_immediate_mode(h, settings.immediate ? 1 : 0), "immediate mode")
        try check(pcap_set_timeout(h, settings.timeoutMilliseconds), "timeout")
        let activated = pcap_activate(h)
        if activated < 0 {
            let message = activated == PCAP_ERROR || activated == PCAP_ERROR_NO_SUCH_DEVICE || activated == PCAP_ERROR_PERM_DENIED
                ? String(cString: pcap_geterr(h)) : String(cString: pcap_statustostr(activated))
            pcap_close(h)
            throw SensorError("capture on \(interface): cannot start: \(message)")
        }
        if !settings.filter.isEmpty {
            var program = bpf_program()
            guard pcap_compile(h, &program, settings.filter, 1, UInt32(PCAP_NETMASK_UNKNOWN)) == 0 else {
                let message = String(cString: pcap_geterr(h))
                pcap_close(h)
                throw SensorError("capture on \(interface): filter \(settings.filter.debugDescription): \(message)")
            }
            defer { pcap_freecode(&program) }
            guard pcap_setfilter(h, &program) == 0 else {
                let message = String(cString: pcap_geterr(h))
                pcap_close(h)
                throw SensorError("capture on \(interface): cannot install the filter: \(message)")
            }
        }
        // Non-blocking reads after poll(2): the reading thread wakes at least
        // every timeout to flush, pick up new intel and see a stop request
        // (libpcap's own timeout does not fire on an idle TPACKET_V3 ring).
        _ = pcap_setnonblock(h, 1, &errbuf)
        handle = h
        selectable = pcap_get_selectable_fd(h)
        let dlt = pcap_datalink(h)
        // DLT_RAW is 12 (14 on OpenBSD); its LINKTYPE_ is 101. Others are equal.
        linkType = dlt == 12 || dlt == 14 ? 101 : UInt32(bitPattern: dlt)
    }

    deinit { pcap_close(handle) }

    /// A captured packet: its bytes (up to snaplen), original length, time.
    package struct Packet {
        package var data: UnsafeRawBufferPointer
        package var originalLength: Int
        package var nanoseconds: Int64
    }

    /// Waits up to `waitMilliseconds` for packets, then hands each one
    /// waiting to `body`. Returns the number handed over (0: none came).
    package func dispatch(waitMilliseconds: Int32, _ body: (Packet) -> Void) throws -> Int {
        if selectable >= 0 {
            var fds = pollfd(fd: selectable, events: Int16(POLLIN), revents: 0)
            _ = poll(&fds, 1, waitMilliseconds)
        }
        // The C callback cannot capture; `body` travels through `user`.
        return try withoutActuallyEscaping(body) { body in
            var box = body
            let n = withUnsafeMutablePointer(to: &box) { pointer in
                pointer.withMemoryRebound(to: UInt8.self, capacity: 1) { user in
                    pcap_dispatch(handle, -1, { user, header, bytes in
                        // Invariant: libpcap passes back the `user` given below (a
                        // live `(Packet) -> Void` on this stack frame), a valid header
                        // and `caplen` readable bytes, valid only during this call.
                        guard let user, let header, let bytes else { return }
                        let body = user.withMemoryRebound(to: ((Packet) -> Void).self, capacity: 1) { $0.pointee }
                        let h = header.pointee
                        body(Packet(
                            data: UnsafeRawBufferPointer(start: bytes, count: Int(h.caplen)), originalLength: Int(h.len),
                            nanoseconds: Int64(h.ts.tv_sec) * 1_000_000_000 + Int64(h.ts.tv_usec) * 1_000))
                    }, user)
                }
            }
            if n < 0 {
                throw SensorError("capture on \(interface): read failed: \(String(cString: pcap_geterr(handle)))")
            }
            return Int(n)
        }
    }

    /// Kernel counters since activation: packets received, dropped by the
    /// kernel (buffer full), dropped by the interface.
    package func stats() -> (received: UInt64, dropped: UInt64, interfaceDropped: UInt64)? {
        var s = pcap_stat()
        guard pcap_stats(handle, &s) == 0 else { return nil }
        return (UInt64(s.ps_recv), UInt64(s.ps_drop), UInt64(s.ps_ifdrop))
    }
}
