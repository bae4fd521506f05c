//! A valid component that is not a plugin: it does not export `plugins-manager:common/plugin-common`.

wit_bindgen::generate!({
    inline: r#"
        package test:no-plugin-common;

        world no-plugin-common {
            export hello: func() -> string;
        }
    "#,
});

struct Component;

impl Guest for Component {
    fn hello() -> String {
        "hello from a component that is not a plugin".into()
    }
}

export!(Component);
