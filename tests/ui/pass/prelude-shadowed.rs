// Generated code names only `::workflow::__private`, `::core` and `::std`: it compiles in a
// module without the prelude where `Option`, `Result`, `Some`, `Ok`, `Box`, `Vec`, `String`,
// `Clone` and `Send` are the user's own items.
#![no_implicit_prelude]

mod user {
    #![allow(dead_code, non_camel_case_types)]
    use ::workflow::prelude::*;

    pub struct Option;
    pub struct Result;
    pub struct Some;
    pub struct Ok;
    pub struct Err;
    pub struct Box;
    pub struct Vec;
    pub struct Send;
    pub struct Sync;
    pub struct Clone;
    pub struct Into;
    pub struct serde;
    pub struct futures;

    #[derive(ToolOutput, Serialize, Deserialize, ::std::clone::Clone)]
    pub struct Count {
        pub n: u64,
        pub names: ::std::vec::Vec<::std::string::String>,
        pub note: ::std::option::Option<::std::string::String>,
    }

    /// Count the letters of a word.
    #[tool]
    pub async fn count(word: ::std::string::String) -> ::std::result::Result<Count, ToolError> {
        ::std::result::Result::Ok(Count {
            n: word.len() as u64,
            names: ::std::vec![word],
            note: ::std::option::Option::None,
        })
    }

    workflow! {
        /// Count twice.
        pub twice(word: ::std::string::String) {
            first = count(word: <<word>>);
            second = count(word: "<<first.names[0]>>!") if <<first.n>> > 0;
            third = count(word: "x") depends first retry 2 backoff 1ms timeout 5s;
        }
    }

    workflow! {
        /// A saga, a trigger rule and a fan-out.
        pub saga(word: ::std::string::String) {
            first = count(word: <<word>>) compensate count(word: <<first.names[0]>>);
            each = count(word: <<name>>) for name in <<first.names>> max 2;
            alert = count(word: "failed") after first failed;
        }
    }
}

fn main() {
    let _ = user::twice::LEVELS;
    let _ = user::twice(::std::string::String::new());
    let _ = user::saga(::std::string::String::new());
}
