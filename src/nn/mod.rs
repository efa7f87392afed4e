//! The network: named parameters in one flat buffer ([`params`]), the recurrent cells
//! ([`cell`]), the stack of layers ([`stack`]) and the heads ([`head`]).

pub mod cell;
pub mod head;
pub mod params;
pub mod stack;

/// Every row of `dst` (rows of `row.len()` numbers) set to `row`: a bias broadcast before a product
/// that accumulates onto it.
pub(crate) fn fill_rows<T: Copy>(dst: &mut [T], row: &[T]) {
    for r in dst.chunks_exact_mut(row.len()) {
        r.copy_from_slice(row);
    }
}
