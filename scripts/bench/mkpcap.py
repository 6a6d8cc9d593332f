#!/usr/bin/env python3
"""Write a pcap of minimum-size UDP/IPv4 frames for scripts/bench.sh.

No scapy: frames are built with struct. Every frame is 60 bytes (--size) as captured
(64 bytes on the wire with the 4-byte FCS that DPDK ports never carry);
an 802.1Q-tagged frame is 4 bytes longer.

Frame i (0 <= i < --frames) carries flow (i mod --flows):
  src IP   10.<dir>.<(f + 1) >> 8>.<(f + 1) & 255>, dst IP 10.<100 + dir>.0.1,
  UDP      sport 1024 + f, dport 5001,
  src MAC  --src-mac, or --src-mac + (i mod --src-macs) when --src-macs > 1,
  dst MAC  --dst-mac, or --dst-mac + ((i mod --dst-macs) * --dst-mac-step)
           when --dst-macs > 1.
With --empty the file holds only the pcap header (a sink port's rx file).
"""

import argparse
import struct
import sys

PCAP_MAGIC = 0xA1B2C3D4
LINKTYPE_ETHERNET = 1
FRAME_LEN = 60  # 64 on the wire minus FCS


def parse_mac(text):
    parts = text.split(":")
    if len(parts) != 6:
        raise argparse.ArgumentTypeError(f"bad MAC address: {text!r}")
    try:
        value = bytes(int(p, 16) for p in parts)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"bad MAC address: {text!r}") from exc
    return int.from_bytes(value, "big")


def mac_bytes(value):
    return (value & 0xFFFFFFFFFFFF).to_bytes(6, "big")


def ip_checksum(data):
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return (~total) & 0xFFFF


def udp_frame(dst_mac, src_mac, vlan, src_ip, dst_ip, sport, dport, size=FRAME_LEN):
    payload_len = size - 14 - 20 - 8
    payload = bytes(payload_len)
    udp_len = 8 + payload_len
    pseudo = src_ip + dst_ip + struct.pack("!BBH", 0, 17, udp_len)
    udp_nock = struct.pack("!HHHH", sport, dport, udp_len, 0) + payload
    csum = ip_checksum(pseudo + udp_nock) or 0xFFFF
    udp = struct.pack("!HHHH", sport, dport, udp_len, csum) + payload
    ip_nock = struct.pack(
        "!BBHHHBBH4s4s", 0x45, 0, 20 + udp_len, 0, 0x4000, 64, 17, 0, src_ip, dst_ip
    )
    ip_hdr = ip_nock[:10] + struct.pack("!H", ip_checksum(ip_nock)) + ip_nock[12:]
    eth = mac_bytes(dst_mac) + mac_bytes(src_mac)
    if vlan is not None:
        eth += struct.pack("!HH", 0x8100, vlan & 0x0FFF)
    eth += struct.pack("!H", 0x0800)
    frame = eth + ip_hdr + udp
    return frame


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out", help="pcap file to write")
    ap.add_argument("--src-mac", type=parse_mac, default=parse_mac("02:00:00:00:00:01"))
    ap.add_argument("--dst-mac", type=parse_mac, default=parse_mac("02:00:00:00:00:02"))
    ap.add_argument("--src-macs", type=int, default=1, help="distinct source MACs")
    ap.add_argument("--dst-macs", type=int, default=1, help="distinct destination MACs")
    ap.add_argument("--dst-mac-step", type=int, default=1)
    ap.add_argument("--vlan", type=int, default=None, help="802.1Q VID (none: untagged)")
    ap.add_argument("--flows", type=int, default=1, help="distinct IP/UDP flows")
    ap.add_argument("--frames", type=int, default=None,
                    help="frames in the file (default: max(flows, src-macs, dst-macs))")
    ap.add_argument("--dir", type=int, default=0, help="direction index for the IP addresses (0..99)")
    ap.add_argument("--empty", action="store_true", help="write a file with no frames")
    ap.add_argument("--size", type=int, default=FRAME_LEN,
                    help=f"untagged frame length without FCS, {FRAME_LEN}..1514 (default {FRAME_LEN})")
    args = ap.parse_args(argv)

    if args.vlan is not None and not 0 <= args.vlan <= 4094:
        ap.error("--vlan must be 0..4094")
    if not FRAME_LEN <= args.size <= 1514:
        ap.error(f"--size must be {FRAME_LEN}..1514")
    if not 1 <= args.flows <= 64000:
        ap.error("--flows must be 1..64000")
    if args.src_macs < 1 or args.dst_macs < 1 or not 0 <= args.dir <= 99:
        ap.error("--src-macs/--dst-macs must be >= 1 and --dir 0..99")
    frames = args.frames or max(args.flows, args.src_macs, args.dst_macs)
    if args.empty:
        frames = 0

    dst_ip = bytes([10, 100 + args.dir, 0, 1])
    with open(args.out, "wb") as out:
        out.write(struct.pack("<IHHiIII", PCAP_MAGIC, 2, 4, 0, 0, 65535, LINKTYPE_ETHERNET))
        for i in range(frames):
            flow = i % args.flows
            src_ip = bytes([10, args.dir, (flow + 1) >> 8, (flow + 1) & 0xFF])
            src = args.src_mac + (i % args.src_macs)
            dst = args.dst_mac + (i % args.dst_macs) * args.dst_mac_step
            frame = udp_frame(dst, src, args.vlan, src_ip, dst_ip, 1024 + flow, 5001, args.size)
            # Timestamps are irrelevant to net_pcap replay; keep them 1 us apart.
            out.write(struct.pack("<IIII", i // 1000000, i % 1000000, len(frame), len(frame)))
            out.write(frame)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
