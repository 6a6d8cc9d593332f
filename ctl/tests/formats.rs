//! Output formats of `list` and `find` as ovs-vsctl 3.1 prints them
//! (html, csv, table with `--max-column-width`, `--pretty` JSON,
//! `--oneline` next to tables, `-f bare`), abbreviated options, and
//! `--if-exists` on `get`, `remove` and `clear`.
//!
//! The expected texts were checked against the installed ovs-vsctl 3.1
//! running on a private ovsdb-server with the same records.

mod common;

use common::*;
use ctl::db::Db;

fn setup() -> (Db, FakeEnv) {
    let env = FakeEnv::new();
    let mut db = empty_db();
    for line in [
        "vsctl add-br br0",
        "vsctl add-port br0 p1 tag=10",
        "vsctl set bridge br0 'external_ids:a=\"x<y&\\\"z\"'",
    ] {
        ok(&mut db, &env, line);
    }
    (db, env)
}

fn uuid_of_bridge(db: &Db) -> String {
    db.bridge("br0").unwrap().uuid.to_string()
}

#[test]
fn html() {
    let (mut db, env) = setup();
    assert_eq!(
        ok(&mut db, &env, "vsctl -f html --columns=name,tag list port p1"),
        "<table border=1>\n  <tr>\n    <th>name</th>\n    <th>tag</th>\n  </tr>\n  <tr>\n    <td>p1</td>\n    <td>10</td>\n  </tr>\n</table>\n"
    );
    // Special characters become entities.
    assert_eq!(
        ok(&mut db, &env, "vsctl --format=html --columns=external_ids find bridge name=br0"),
        "<table border=1>\n  <tr>\n    <th>external_ids</th>\n  </tr>\n  <tr>\n    <td>{a=&quot;x&lt;y&amp;\\&quot;z&quot;}</td>\n  </tr>\n</table>\n"
    );
    // _uuid is an anchor, UUIDs elsewhere link to it; no headings row
    // with --no-headings; tables follow each other without a blank line.
    let br = uuid_of_bridge(&db);
    let ports: Vec<String> = db
        .bridge("br0")
        .unwrap()
        .ports
        .iter()
        .map(|p| p.uuid.to_string())
        .collect();
    let links: Vec<String> = {
        let mut p = ports.clone();
        p.sort();
        p.iter()
            .map(|u| format!("<a href=\"#{u}\">{}</a>", &u[..8]))
            .collect()
    };
    assert_eq!(
        ok(&mut db, &env, "vsctl -f html --no-headings --columns=_uuid,ports list bridge br0 -- --columns=name list bridge br0"),
        format!(
            "<table border=1>\n  <tr>\n    <td><a name=\"{br}\">{}</a></td>\n    <td>[{}]</td>\n  </tr>\n</table>\n\
             <table border=1>\n  <tr>\n    <td>br0</td>\n  </tr>\n</table>\n",
            &br[..8],
            links.join(", ")
        )
    );
}

#[test]
fn csv_table_and_bare() {
    let (mut db, env) = setup();
    // Quoted only for `,`, `"` or a newline; a blank line between tables.
    assert_eq!(
        ok(
            &mut db,
            &env,
            "vsctl -f csv --columns=name,external_ids list bridge -- --columns=name list bridge"
        ),
        "name,external_ids\nbr0,\"{a=\"\"x<y&\\\"\"z\"\"}\"\n\nname\nbr0\n"
    );
    // --max-column-width cuts cells, never headings.
    let ports = ok(
        &mut db,
        &env,
        "vsctl --bare --columns=ports list bridge br0",
    );
    let first = ports.split_whitespace().min().unwrap().to_string();
    assert_eq!(
        ok(
            &mut db,
            &env,
            "vsctl --max-column-width=5 -f table --columns=name,ports list bridge br0"
        ),
        format!("name ports\n---- -----\nbr0  [{}\n", &first[..4])
    );
    // `-f bare` is `--bare`.
    assert_eq!(
        ok(
            &mut db,
            &env,
            "vsctl -f bare --columns=name,tag list port p1"
        ),
        ok(
            &mut db,
            &env,
            "vsctl --bare --columns=name,tag list port p1"
        )
    );
    assert_eq!(
        ok(
            &mut db,
            &env,
            "vsctl -f bare --columns=name,tag list port p1"
        ),
        "p1\n10\n"
    );
}

#[test]
fn pretty_json_is_laid_out_as_ovs_does() {
    let (mut db, env) = setup();
    assert_eq!(
        ok(&mut db, &env, "vsctl -f json --pretty --columns=name,fail_mode,external_ids list bridge br0"),
        "{\n  \"data\": [\n    [\n      \"br0\",\n      [\n        \"set\",\n        []],\n      [\n        \"map\",\n        [\n          [\n            \"a\",\n            \"x<y&\\\"z\"]]]]],\n  \"headings\": [\n    \"name\",\n    \"fail_mode\",\n    \"external_ids\"]}\n"
    );
    assert_eq!(
        ok(&mut db, &env, "vsctl -f json --columns=name list bridge"),
        "{\"data\":[[\"br0\"]],\"headings\":[\"name\"]}\n"
    );
}

#[test]
fn oneline_leaves_tables_alone() {
    let (mut db, env) = setup();
    // As ovs-vsctl: a table prints as it is; every other command gives
    // one line, empty ones included.
    assert_eq!(
        ok(&mut db, &env, "vsctl --oneline -f table --columns=name list bridge -- get bridge br0 name -- add-br br1 -- list-br"),
        "name\n----\nbr0\nbr0\n\nbr0\\nbr1\n"
    );
}

#[test]
fn abbreviated_options() {
    let (mut db, env) = setup();
    assert_eq!(
        ok(
            &mut db,
            &env,
            "vsctl --no-heading --form=table --col=name,tag list port p1"
        ),
        "p1 10\n"
    );
    assert_eq!(
        ok(
            &mut db,
            &env,
            "vsctl --may add-br br0 -- --may add-port br0 p1 -- --if-exist del-port nosuch"
        ),
        ""
    );
    assert_eq!(
        ok(&mut db, &env, "vsctl --if-exist get bridge nosuch name"),
        ""
    );
    assert!(err(&db, &env, "vsctl --no list-br").starts_with("option '--no' is ambiguous"));
    assert!(err(&db, &env, "vsctl --may list-br")
        .contains("'list-br' command has no '--may-exist' option"));
}

#[test]
fn if_exists_on_get_remove_and_clear() {
    let (mut db, env) = setup();
    // A missing record: no output, no error, no change.
    assert_eq!(
        ok(&mut db, &env, "vsctl --if-exists get bridge nosuch name"),
        ""
    );
    for line in [
        "vsctl --if-exists remove bridge nosuch external_ids a",
        "vsctl --if-exists clear bridge nosuch external_ids",
        "vsctl -- --if-exists clear bridge nosuch external_ids -- --if-exists remove bridge nosuch other_config x=y",
    ] {
        let out = run(&db, &env, line).unwrap();
        assert!(out.new_db.is_none() && out.output.is_empty(), "{line}");
    }
    assert_eq!(
        err(&db, &env, "vsctl get bridge nosuch name"),
        "no row \"nosuch\" in table Bridge"
    );
    assert_eq!(
        err(&db, &env, "vsctl remove bridge nosuch external_ids a"),
        "no row \"nosuch\" in table Bridge"
    );
    assert_eq!(
        err(&db, &env, "vsctl clear bridge nosuch external_ids"),
        "no row \"nosuch\" in table Bridge"
    );
    // The columns are still checked.
    assert!(
        err(&db, &env, "vsctl --if-exists clear bridge nosuch nosuchcol")
            .contains("does not contain a column")
    );
    // A missing key with --if-exists: an empty line (ovs-vsctl.at, "database commands").
    ok(
        &mut db,
        &env,
        "vsctl set bridge br0 'other_config:hwaddr=\"00:11:22:33:44:55\"'",
    );
    assert_eq!(
        ok(&mut db, &env, "vsctl get bridge br0 other_config:hwaddr -- --if-exists get bridge br0 other-config:nonexistent"),
        "\"00:11:22:33:44:55\"\n\n"
    );
    assert_eq!(
        err(&db, &env, "vsctl get bridge br0 external_ids:x"),
        "no key \"x\" in Bridge record \"br0\" column external_ids"
    );
    // On an existing record --if-exists changes nothing about remove/clear.
    ok(&mut db, &env, "vsctl --if-exists remove bridge br0 external_ids a -- --if-exists clear bridge br0 other_config");
    assert!(db.bridge("br0").unwrap().external_ids.is_empty());
    assert!(db.bridge("br0").unwrap().other_config.is_empty());
}
