//! `loopback-precompress DIR`: each file of the built page in DIR gets a brotli (`.br`) and a gzip
//! (`.gz`) copy beside it, made once at build time at the strongest settings, for a server to send
//! as they are to the browsers that accept them (`server/src/lib.rs`; the README's deploy notes say
//! what another host must do).

use loopback_precompress::{compress_dir, Made};
use std::path::PathBuf;
use std::process::ExitCode;

fn main() -> ExitCode {
    let mut args = std::env::args_os().skip(1);
    let (Some(dir), None) = (args.next(), args.next()) else {
        eprintln!("usage: loopback-precompress DIR");
        return ExitCode::from(2);
    };
    let dir = PathBuf::from(dir);
    match compress_dir(&dir) {
        Ok(made) => {
            for Made { name, size, br, gz } in made {
                println!("{name}: {size} bytes, brotli {br}, gzip {gz}");
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("loopback-precompress: {}: {e}", dir.display());
            ExitCode::FAILURE
        }
    }
}
