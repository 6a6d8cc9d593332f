//! TEMPORARY: stands in for `ctl`'s QoS conversions (`Db::port_egress_qos`,
//! `Interface::ingress_policing`, being added on the ctl side) until they
//! land; no QoS is configured until then. Inherent methods win over these,
//! so deleting this file is all that is needed once they exist.

use ctl::db::{Db, Interface, Port};
use datapath::qos::{EgressQos, Rate};

/// `Db::port_egress_qos`.
#[allow(dead_code)] // ctl has the method now: it is used instead.
pub trait DbQos {
    /// The port's egress QoS.
    fn port_egress_qos(&self, port: &Port) -> Option<EgressQos>;
}

impl DbQos for Db {
    fn port_egress_qos(&self, _port: &Port) -> Option<EgressQos> {
        None
    }
}

/// `Interface::ingress_policing`.
#[allow(dead_code)] // ctl has the method now: it is used instead.
pub trait IfaceQos {
    /// The interface's ingress policing.
    fn ingress_policing(&self) -> Option<Rate>;
}

impl IfaceQos for Interface {
    fn ingress_policing(&self) -> Option<Rate> {
        None
    }
}
