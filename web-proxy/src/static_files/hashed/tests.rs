use super::*;

fn known(rel: &str) -> bool {
    ["app.js", "ui.js", "img/a.png", "console.css"].contains(&rel)
}

#[test]
fn references_are_found_in_every_shape_and_only_the_name_is_replaced() {
    let text = br#"<script src="/app.js"></script> import {x} from "./ui.js"; url(/img/a.png) 'x/app.js' "/app.jsx" "//app.js" `../img/a.png?v=1` link[href='/console.css']"#;
    let refs = references("js/page.html", text, &known);
    let targets: Vec<&str> = refs.iter().map(|r| r.target.as_str()).collect();
    // ./ui.js from js/ is js/ui.js (unknown); ../img/a.png from js/ is img/a.png.
    assert_eq!(targets, ["app.js", "img/a.png", "img/a.png", "console.css"]);
    let names: HashMap<String, String> = [
        ("app.js", "app.0123456789.js"),
        ("img/a.png", "img/a.abcdefabcd.png"),
        ("console.css", "console.1111111111.css"),
    ]
    .into_iter()
    .map(|(a, b)| (a.to_owned(), b.to_owned()))
    .collect();
    let out = String::from_utf8(rewrite(text, &refs, &names)).unwrap();
    assert!(out.contains(r#"src="/app.0123456789.js""#), "{out}");
    assert!(out.contains("url(/img/a.abcdefabcd.png)"), "{out}");
    assert!(out.contains("`../img/a.abcdefabcd.png?v=1`"), "{out}");
    assert!(
        out.contains("link[href='/console.1111111111.css']"),
        "{out}"
    );
    assert!(out.contains(r#""/app.jsx" "//app.js""#), "{out}");
}

#[test]
fn names_and_paths() {
    assert_eq!(
        hashed_name("img/icon.png", "0123456789"),
        "img/icon.0123456789.png"
    );
    assert_eq!(
        unhashed("img/icon.0123456789.png").as_deref(),
        Some("img/icon.png")
    );
    assert_eq!(unhashed("app-1a2b3c4d.js"), None);
    assert_eq!(unhashed("app.0123456789"), None);
    assert_eq!(unhashed("img/.0123456789.png"), None);
    assert_eq!(resolve("a/b.js", "../c.js").as_deref(), Some("c.js"));
    assert_eq!(resolve("b.js", "../c.js"), None);
    assert_eq!(resolve("a/b.js", "/c.js").as_deref(), Some("c.js"));
    assert_eq!(resolve("a/b.js", "c.js"), None);
    assert!(is_hashable(Path::new("app.js")));
    assert!(!is_hashable(Path::new("sw.js")));
    assert!(!is_hashable(Path::new("index.html")));
    assert!(!is_hashable(Path::new("robots.txt")));
    assert!(is_document("index.html") && is_document("admin/sw.js"));
    assert!(!is_document("app.js"));
}

fn site() -> (stack::TempDir, PathBuf) {
    let dir = stack::TempDir::new("upbrella-hashed").unwrap();
    let root = dir.path().join("www");
    std::fs::create_dir_all(root.join("img")).unwrap();
    let files = [
        (
            "index.html",
            r#"<link rel="stylesheet" href="/style.css"><script type="module" src="/app.js"></script>"#,
        ),
        (
            "app.js",
            r#"import { t } from "/i18n.js"; const later = () => import("./console.js");"#,
        ),
        ("i18n.js", "export const t = 1;"),
        (
            "console.js",
            r#"import { t } from "./i18n.js"; import { app } from "/app.js";"#,
        ),
        ("style.css", "body { background: url(/img/a.svg); }"),
        ("img/a.svg", "<svg/>"),
        (
            "sw.js",
            r#"const V = "__UPBRELLA_ASSETS_VERSION__"; const F = ["/", "/app.js"];"#,
        ),
    ];
    for (name, text) in files {
        std::fs::write(root.join(name), text).unwrap();
    }
    let root = root.canonicalize().unwrap();
    (dir, root)
}

#[test]
fn a_changed_import_renames_its_importers_and_the_set() {
    let (_dir, root) = site();
    let before = Snapshot::build(&root);
    assert!(before.unchanged());
    let index = &before.documents["index.html"].identity;
    let html = std::str::from_utf8(index.body.as_deref().unwrap()).unwrap();
    let app = &before.names["app.js"];
    assert!(html.contains(&format!("src=\"/{app}\"")), "{html}");
    assert!(
        html.contains(&format!("href=\"/{}\"", before.names["style.css"])),
        "{html}"
    );
    let sw = before.documents["sw.js"].identity.body.clone().unwrap();
    let sw = std::str::from_utf8(&sw).unwrap().to_owned();
    assert!(
        sw.contains(&before.version) && sw.contains(&format!("\"/{app}\"")),
        "{sw}"
    );
    let css = before.hashed[&before.names["style.css"]]
        .identity
        .body
        .clone()
        .unwrap();
    assert!(
        std::str::from_utf8(&css)
            .unwrap()
            .contains(&before.names["img/a.svg"])
    );
    assert_eq!(
        before.hashed[app].identity.headers[header::CACHE_CONTROL],
        IMMUTABLE
    );
    assert_eq!(index.headers[header::CACHE_CONTROL], "no-cache");

    // The cycle app.js ⇄ console.js is fine; i18n.js changes, so do both of them.
    std::fs::write(root.join("i18n.js"), "export const t = 2;").unwrap();
    assert!(!before.unchanged());
    let after = Snapshot::build(&root);
    for name in ["i18n.js", "app.js", "console.js"] {
        assert_ne!(before.names[name], after.names[name], "{name}");
    }
    for name in ["style.css", "img/a.svg"] {
        assert_eq!(before.names[name], after.names[name], "{name}");
    }
    assert_ne!(before.version, after.version);
    // A file added is noticed through its directory.
    let again = Snapshot::build(&root);
    std::fs::write(root.join("img/b.svg"), "<svg/>").unwrap();
    assert!(!again.unchanged());
}

#[test]
fn a_rewritten_file_is_compressed_when_the_deploy_precompressed_it() {
    let (_dir, root) = site();
    std::fs::write(root.join("app.js.gz"), b"stale gzip of the plain file").unwrap();
    std::fs::write(root.join("i18n.js.gz"), b"GZ").unwrap();
    let snap = Snapshot::build(&root);
    let app = &snap.hashed[&snap.names["app.js"]];
    let gzip = app.gzip.as_ref().unwrap().body.clone().unwrap();
    assert_eq!(
        &gzip[..2],
        &[0x1f, 0x8b],
        "gzip made here, not the stale sibling"
    );
    let i18n = &snap.hashed[&snap.names["i18n.js"]];
    assert_eq!(
        i18n.gzip.as_ref().unwrap().body.as_deref(),
        Some(&b"GZ"[..])
    );
    assert!(std::ptr::eq(i18n.pick((true, false)), &*i18n.identity));
}
