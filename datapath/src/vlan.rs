//! Port VLAN modes and the ingress/egress rules, as Open vSwitch defines
//! them in `vswitch.xml` (Port table, `vlan_mode`, `tag`, `trunks`).
//!
//! | mode | ingress untagged / priority-tagged | ingress tagged V | egress in VLAN V |
//! | --- | --- | --- | --- |
//! | access (tag T) | VLAN T | drop | untagged if V = T, else not carried |
//! | trunk | VLAN 0 | V if V in trunks, else drop | tagged V (untagged if V = 0) |
//! | native-tagged (tag N) | VLAN N | V if V in trunks, else drop | tagged V |
//! | native-untagged (tag N) | VLAN N | V if V in trunks, else drop | untagged if V = N, else tagged |
//!
//! For the native modes the native VLAN is always trunked and VLAN 0 never
//! is. A trunk with no `trunks` carries every VLAN.

use core::fmt;

/// The highest usable VLAN ID. 4095 is reserved by 802.1Q.
pub const MAX_VID: u16 = 4094;

crate::spelled_enum! {
    /// `vlan_mode` of a port.
    pub enum VlanMode {
        /// One VLAN, untagged on the wire.
        Access => "access",
        /// Many VLANs, tagged on the wire.
        Trunk => "trunk",
        /// Trunk whose untagged frames belong to the native VLAN; egress always tagged.
        NativeTagged => "native-tagged",
        /// Trunk whose native VLAN is sent untagged.
        NativeUntagged => "native-untagged",
    }
}

impl VlanMode {
    /// Parse the OVS spelling.
    pub fn parse(s: &str) -> Result<VlanMode, VlanConfigError> {
        VlanMode::from_name(s).ok_or_else(|| VlanConfigError::UnknownMode(s.to_string()))
    }
}

/// A configuration error, worded for a `vsctl: <reason>` message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum VlanConfigError {
    /// A VLAN ID outside 0..=4094.
    VidOutOfRange(u32),
    /// A `tag` outside 1..=4094.
    TagOutOfRange(u32),
    /// A range whose start is above its end, such as `5-2`.
    ReversedRange(u16, u16),
    /// Something that is not a number or range.
    Syntax(String),
    /// An unknown `vlan_mode`.
    UnknownMode(String),
    /// `access` or a native mode without a `tag`.
    MissingTag(VlanMode),
    /// `tag=0` where a real VLAN is required.
    ZeroTag(VlanMode),
}

impl fmt::Display for VlanConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            VlanConfigError::VidOutOfRange(v) => {
                write!(f, "VLAN {v} is out of range (valid VLAN IDs are 0 to {MAX_VID})")
            }
            VlanConfigError::TagOutOfRange(v) => {
                write!(f, "tag {v} is out of range (a tag must be between 1 and {MAX_VID})")
            }
            VlanConfigError::ReversedRange(a, b) => {
                write!(f, "VLAN range {a}-{b} is reversed (write {b}-{a})")
            }
            VlanConfigError::Syntax(s) => write!(
                f,
                "\"{s}\" is not a VLAN list (expected numbers and ranges, such as 11,300-304)"
            ),
            VlanConfigError::UnknownMode(s) => write!(
                f,
                "\"{s}\" is not a vlan_mode (expected access, trunk, native-tagged or native-untagged)"
            ),
            VlanConfigError::MissingTag(m) => write!(f, "vlan_mode={m} needs a tag"),
            VlanConfigError::ZeroTag(m) => {
                write!(f, "vlan_mode={m} needs a tag between 1 and {MAX_VID}")
            }
        }
    }
}

impl std::error::Error for VlanConfigError {}

/// Parse one VLAN ID (0..=4094).
pub fn parse_vid(s: &str) -> Result<u16, VlanConfigError> {
    let t = s.trim();
    if t.is_empty() || !t.bytes().all(|b| b.is_ascii_digit()) || t.len() > 9 {
        return Err(VlanConfigError::Syntax(s.to_string()));
    }
    let v: u32 = t
        .parse()
        .map_err(|_| VlanConfigError::Syntax(s.to_string()))?;
    if v > MAX_VID as u32 {
        return Err(VlanConfigError::VidOutOfRange(v));
    }
    Ok(v as u16)
}

/// A set of VLAN IDs, one bit each.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct VlanSet {
    bits: [u64; 64],
}

impl Default for VlanSet {
    fn default() -> Self {
        VlanSet::empty()
    }
}

impl VlanSet {
    /// No VLANs.
    pub const fn empty() -> VlanSet {
        VlanSet { bits: [0; 64] }
    }

    /// Every VLAN 0..=4094.
    pub fn all() -> VlanSet {
        let mut s = VlanSet {
            bits: [u64::MAX; 64],
        };
        s.remove(4095);
        s
    }

    /// Parse an OVS `trunks` value: `11,300-304`, with optional spaces or
    /// `[ ]` around it as `ovs-vsctl` prints it. The empty string is the
    /// empty set.
    pub fn parse(s: &str) -> Result<VlanSet, VlanConfigError> {
        let t = s.trim();
        let t = t
            .strip_prefix('[')
            .and_then(|x| x.strip_suffix(']'))
            .unwrap_or(t);
        let mut set = VlanSet::empty();
        if t.trim().is_empty() {
            return Ok(set);
        }
        for item in t.split(',') {
            let item = item.trim();
            if let Some((a, b)) = item.split_once('-') {
                let (a, b) = (parse_vid(a)?, parse_vid(b)?);
                if a > b {
                    return Err(VlanConfigError::ReversedRange(a, b));
                }
                for v in a..=b {
                    set.insert(v);
                }
            } else {
                set.insert(parse_vid(item)?);
            }
        }
        Ok(set)
    }

    /// Add `vid` (values above 4095 are ignored).
    pub fn insert(&mut self, vid: u16) {
        if vid <= 4095 {
            self.bits[(vid >> 6) as usize] |= 1 << (vid & 63);
        }
    }

    /// Remove `vid`.
    pub fn remove(&mut self, vid: u16) {
        if vid <= 4095 {
            self.bits[(vid >> 6) as usize] &= !(1 << (vid & 63));
        }
    }

    /// Whether `vid` is in the set.
    #[inline(always)]
    pub fn contains(&self, vid: u16) -> bool {
        let vid = vid & 0xfff;
        self.bits[(vid >> 6) as usize] & (1 << (vid & 63)) != 0
    }

    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.bits.iter().all(|w| *w == 0)
    }

    /// The members in ascending order.
    pub fn iter(&self) -> impl Iterator<Item = u16> + '_ {
        (0u16..4096).filter(move |v| self.contains(*v))
    }

    /// Compact text form, as `ovs-vsctl` shows it: `11,300-304`.
    pub fn to_ranges(&self) -> String {
        let mut out = String::new();
        let mut v = 0u16;
        while v < 4096 {
            if self.contains(v) {
                let start = v;
                while v + 1 < 4096 && self.contains(v + 1) {
                    v += 1;
                }
                if !out.is_empty() {
                    out.push(',');
                }
                if start == v {
                    out.push_str(&start.to_string());
                } else {
                    out.push_str(&format!("{start}-{v}"));
                }
            }
            v += 1;
        }
        out
    }
}

impl fmt::Debug for VlanSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "VlanSet({})", self.to_ranges())
    }
}

/// What the egress rule does to a frame of some VLAN leaving a port.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum EgressAction {
    /// The port does not carry the VLAN.
    Drop,
    /// Send without an 802.1Q header.
    Untagged,
    /// Send with an 802.1Q header carrying the VLAN.
    Tagged,
}

/// The VLAN configuration of one port, resolved and ready for the datapath.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PortVlan {
    mode: VlanMode,
    /// Access VLAN or native VLAN; 0 for a plain trunk.
    tag: u16,
    /// VLANs carried tagged (resolved: "all" for a trunk with no list; for
    /// native modes it includes the native VLAN and excludes VLAN 0).
    trunks: VlanSet,
}

impl PortVlan {
    /// Resolve a port's `vlan_mode`, `tag` and `trunks` as OVS does.
    ///
    /// `mode = None` means the column is empty: OVS then picks access if a
    /// tag is set and trunk otherwise. An empty `trunks` means all VLANs.
    pub fn new(
        mode: Option<VlanMode>,
        tag: Option<u16>,
        trunks: &VlanSet,
    ) -> Result<PortVlan, VlanConfigError> {
        if let Some(t) = tag {
            if t > MAX_VID {
                return Err(VlanConfigError::TagOutOfRange(t as u32));
            }
        }
        let mode = mode.unwrap_or(if tag.is_some() {
            VlanMode::Access
        } else {
            VlanMode::Trunk
        });
        let all = trunks.is_empty();
        Ok(match mode {
            VlanMode::Access => {
                let tag = tag.ok_or(VlanConfigError::MissingTag(mode))?;
                PortVlan {
                    mode,
                    tag,
                    trunks: VlanSet::empty(),
                }
            }
            VlanMode::Trunk => PortVlan {
                mode,
                tag: 0,
                trunks: if all { VlanSet::all() } else { trunks.clone() },
            },
            VlanMode::NativeTagged | VlanMode::NativeUntagged => {
                let tag = tag.ok_or(VlanConfigError::MissingTag(mode))?;
                if tag == 0 {
                    return Err(VlanConfigError::ZeroTag(mode));
                }
                let mut t = if all { VlanSet::all() } else { trunks.clone() };
                t.insert(tag);
                t.remove(0);
                PortVlan {
                    mode,
                    tag,
                    trunks: t,
                }
            }
        })
    }

    /// An access port on `tag`.
    pub fn access(tag: u16) -> PortVlan {
        PortVlan {
            mode: VlanMode::Access,
            tag,
            trunks: VlanSet::empty(),
        }
    }

    /// A trunk carrying every VLAN.
    pub fn trunk_all() -> PortVlan {
        PortVlan {
            mode: VlanMode::Trunk,
            tag: 0,
            trunks: VlanSet::all(),
        }
    }

    /// The mode.
    pub fn mode(&self) -> VlanMode {
        self.mode
    }

    /// The access or native VLAN (0 for a plain trunk).
    pub fn tag(&self) -> u16 {
        self.tag
    }

    /// The resolved set of tagged VLANs.
    pub fn trunks(&self) -> &VlanSet {
        &self.trunks
    }

    /// The VLAN a received frame belongs to, or `None` to drop it.
    ///
    /// `vid` is the VLAN ID of the frame's 802.1Q header, `None` when
    /// untagged; a priority tag (`Some(0)`) counts as untagged.
    #[inline]
    pub fn ingress(&self, vid: Option<u16>) -> Option<u16> {
        let vid = match vid {
            None | Some(0) => 0,
            Some(v) => v & 0xfff,
        };
        match self.mode {
            VlanMode::Access => (vid == 0).then_some(self.tag),
            VlanMode::Trunk => self.trunks.contains(vid).then_some(vid),
            VlanMode::NativeTagged | VlanMode::NativeUntagged => {
                if vid == 0 {
                    Some(self.tag)
                } else {
                    self.trunks.contains(vid).then_some(vid)
                }
            }
        }
    }

    /// Whether frames of `vlan` may leave through this port.
    #[inline]
    pub fn carries(&self, vlan: u16) -> bool {
        match self.mode {
            VlanMode::Access => vlan == self.tag,
            _ => self.trunks.contains(vlan),
        }
    }

    /// How a frame of `vlan` leaves through this port.
    #[inline]
    pub fn egress(&self, vlan: u16) -> EgressAction {
        if !self.carries(vlan) {
            return EgressAction::Drop;
        }
        match self.mode {
            VlanMode::Access => EgressAction::Untagged,
            VlanMode::Trunk if vlan == 0 => EgressAction::Untagged,
            VlanMode::NativeUntagged if vlan == self.tag => EgressAction::Untagged,
            _ => EgressAction::Tagged,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use EgressAction::*;

    #[test]
    fn parse_trunks() {
        let s = VlanSet::parse("11,300-304").unwrap();
        assert_eq!(
            s.iter().collect::<Vec<_>>(),
            vec![11, 300, 301, 302, 303, 304]
        );
        assert_eq!(s.to_ranges(), "11,300-304");
        assert_eq!(VlanSet::parse("[11, 300-304]").unwrap(), s);
        assert!(VlanSet::parse("").unwrap().is_empty());
        assert_eq!(VlanSet::parse("0").unwrap().to_ranges(), "0");
        assert_eq!(VlanSet::parse("4094").unwrap().to_ranges(), "4094");
    }

    #[test]
    fn parse_rejects_bad_lists_with_clear_messages() {
        assert_eq!(
            VlanSet::parse("5-2"),
            Err(VlanConfigError::ReversedRange(5, 2))
        );
        assert_eq!(
            VlanSet::parse("4095"),
            Err(VlanConfigError::VidOutOfRange(4095))
        );
        assert_eq!(
            VlanSet::parse("1-4096"),
            Err(VlanConfigError::VidOutOfRange(4096))
        );
        for bad in ["a", "1,,2", "-3", "3-", "1-2-3", " , ", "+5", "99999999999"] {
            assert!(VlanSet::parse(bad).is_err(), "{bad:?} accepted");
        }
        let msg = VlanSet::parse("5-2").unwrap_err().to_string();
        assert!(msg.contains("5-2") && msg.contains("reversed"), "{msg}");
        let msg = VlanSet::parse("4095").unwrap_err().to_string();
        assert!(
            msg.contains("4095") && msg.contains("out of range"),
            "{msg}"
        );
    }

    #[test]
    fn port_config_defaults_and_errors() {
        let none = VlanSet::empty();
        assert_eq!(
            PortVlan::new(None, Some(300), &none).unwrap().mode(),
            VlanMode::Access
        );
        assert_eq!(
            PortVlan::new(None, None, &none).unwrap().mode(),
            VlanMode::Trunk
        );
        assert_eq!(
            PortVlan::new(Some(VlanMode::Access), None, &none),
            Err(VlanConfigError::MissingTag(VlanMode::Access))
        );
        assert_eq!(
            PortVlan::new(Some(VlanMode::NativeTagged), Some(0), &none),
            Err(VlanConfigError::ZeroTag(VlanMode::NativeTagged))
        );
        assert_eq!(
            PortVlan::new(None, Some(4095), &none),
            Err(VlanConfigError::TagOutOfRange(4095))
        );
        assert!(VlanMode::parse("trunky").is_err());
        for m in [
            VlanMode::Access,
            VlanMode::Trunk,
            VlanMode::NativeTagged,
            VlanMode::NativeUntagged,
        ] {
            assert_eq!(VlanMode::parse(m.as_str()), Ok(m));
        }
    }

    /// Every mode × {untagged, priority-tagged, tagged allowed, tagged not
    /// allowed} on ingress, and the egress kind of the resulting VLAN on the
    /// same port.
    #[test]
    fn rule_table() {
        let t = VlanSet::parse("300,301").unwrap();
        let access = PortVlan::new(Some(VlanMode::Access), Some(300), &VlanSet::empty()).unwrap();
        let trunk = PortVlan::new(Some(VlanMode::Trunk), None, &t).unwrap();
        let trunk_all = PortVlan::new(Some(VlanMode::Trunk), None, &VlanSet::empty()).unwrap();
        let ntag = PortVlan::new(Some(VlanMode::NativeTagged), Some(100), &t).unwrap();
        let nuntag = PortVlan::new(Some(VlanMode::NativeUntagged), Some(100), &t).unwrap();

        // (port, ingress vid, expected vlan, egress of that vlan on the same port)
        #[rustfmt::skip]
        let cases: &[(&PortVlan, Option<u16>, Option<u16>, EgressAction)] = &[
            // access 300
            (&access, None,      Some(300), Untagged),
            (&access, Some(0),   Some(300), Untagged),
            (&access, Some(300), None,      Drop),  // tagged, even with its own VLAN
            (&access, Some(301), None,      Drop),
            // trunk 300,301
            (&trunk,  None,      None,      Drop),  // VLAN 0 not trunked
            (&trunk,  Some(0),   None,      Drop),
            (&trunk,  Some(300), Some(300), Tagged),
            (&trunk,  Some(302), None,      Drop),
            // trunk with no list: every VLAN, VLAN 0 untagged
            (&trunk_all, None,      Some(0),    Untagged),
            (&trunk_all, Some(0),   Some(0),    Untagged),
            (&trunk_all, Some(4094), Some(4094), Tagged),
            // native-tagged 100, trunks 300,301
            (&ntag,   None,      Some(100), Tagged),
            (&ntag,   Some(0),   Some(100), Tagged),
            (&ntag,   Some(301), Some(301), Tagged),
            (&ntag,   Some(100), Some(100), Tagged),
            (&ntag,   Some(302), None,      Drop),
            // native-untagged 100, trunks 300,301
            (&nuntag, None,      Some(100), Untagged),
            (&nuntag, Some(0),   Some(100), Untagged),
            (&nuntag, Some(300), Some(300), Tagged),
            (&nuntag, Some(302), None,      Drop),
        ];
        for (i, (port, vid, want, eg)) in cases.iter().enumerate() {
            let got = port.ingress(*vid);
            assert_eq!(got, *want, "case {i}: ingress {vid:?} on {port:?}");
            // For dropped frames the egress column is unused (Drop).
            match got {
                Some(v) => assert_eq!(port.egress(v), *eg, "case {i}: egress {v} on {port:?}"),
                None => assert_eq!(*eg, Drop, "case {i}: table error"),
            }
        }

        // Egress kinds across ports for VLAN 300 and VLAN 100.
        assert_eq!(access.egress(300), Untagged);
        assert_eq!(access.egress(301), Drop);
        assert_eq!(trunk.egress(300), Tagged);
        assert_eq!(trunk.egress(100), Drop);
        assert_eq!(ntag.egress(100), Tagged);
        assert_eq!(nuntag.egress(100), Untagged);
        assert_eq!(nuntag.egress(300), Tagged);
        assert_eq!(ntag.egress(0), Drop, "native modes never trunk VLAN 0");
    }
}
