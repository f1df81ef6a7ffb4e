//! The process-wide cryptoki context of each PKCS#11 module: loaded and
//! `C_Initialize`d once, shared by every key on it.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
use cryptoki::error::{Error as CkError, RvError};

use super::lock;
use crate::Error;

/// Loaded and initialised modules, one per path, for the life of the process.
static MODULES: OnceLock<Mutex<HashMap<PathBuf, Pkcs11>>> = OnceLock::new();

/// The process-wide cryptoki context for the module at `module`, loaded and
/// initialised (with `CKF_OS_LOCKING_OK`) on first use. Later calls with the
/// same path (after canonicalisation) return the same context.
///
/// # Errors
/// [`Error::Pkcs11Module`] if the library cannot be loaded or initialised.
pub fn module_context(module: &Path) -> Result<Pkcs11, Error> {
    let key = std::fs::canonicalize(module).unwrap_or_else(|_| module.to_owned());
    let mut modules = lock(MODULES.get_or_init(|| Mutex::new(HashMap::new())));
    if let Some(ctx) = modules.get(&key) {
        return Ok(ctx.clone());
    }
    let module_err = |detail: String| Error::Pkcs11Module {
        module: module.to_owned(),
        detail,
    };
    let ctx = Pkcs11::new(&key).map_err(|e| module_err(format!("cannot load: {e}")))?;
    match ctx.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK)) {
        // Someone else in this process initialised it already: fine.
        Ok(()) | Err(CkError::Pkcs11(RvError::CryptokiAlreadyInitialized, _)) => {}
        Err(e) => return Err(module_err(format!("C_Initialize failed: {e}"))),
    }
    modules.insert(key, ctx.clone());
    Ok(ctx)
}
