//! Named tensors inside one flat parameter buffer (llm.c's layout): every tensor is a contiguous
//! slice at a known offset, gradients and optimizer state use the same layout, and names follow
//! PyTorch (`rnn.weight_ih_l0`, `out.weight`, …) so that a saved buffer is a `state_dict`.

/// A named parameter tensor inside the flat parameter buffer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParamSpec {
    /// PyTorch-style name, e.g. `rnn.weight_hh_l0`.
    pub name: String,
    /// Shape, outermost first (row-major).
    pub shape: Vec<usize>,
    /// Fan-in of the layer the tensor belongs to (sets the scale of the default initialisation).
    pub fan_in: usize,
    /// What the tensor is, for initialisation.
    pub role: Role,
}

/// What a parameter is, which decides how each initialisation scheme fills it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// A weight matrix of a recurrent layer's input or of an output layer.
    Weight,
    /// A recurrent layer's `weight_hh`: one H×H block per gate, stacked.
    Recurrent,
    /// A bias vector of a recurrent layer or of an output layer.
    Bias,
    /// A weight of the softmax classifier.
    ClassifierWeight,
    /// A bias of the softmax classifier.
    ClassifierBias,
}

impl ParamSpec {
    /// A spec with the given name, shape, fan-in and role.
    pub fn new(name: &str, shape: &[usize], fan_in: usize, role: Role) -> Self {
        ParamSpec {
            name: name.to_string(),
            shape: shape.to_vec(),
            fan_in,
            role,
        }
    }

    /// Number of elements.
    pub fn len(&self) -> usize {
        self.shape.iter().product()
    }

    /// Whether the tensor has no element.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Which recurrent cell of a stack a tensor belongs to: its layer, and whether it reads the
/// sequence backwards (the second direction of a bidirectional layer).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LayerId {
    /// The layer, from 0 at the input.
    pub depth: usize,
    /// Whether it is the reverse direction.
    pub reverse: bool,
}

impl LayerId {
    /// The forward direction of layer `depth`.
    pub fn forward(depth: usize) -> LayerId {
        LayerId {
            depth,
            reverse: false,
        }
    }
}

/// PyTorch's name of a recurrent cell's tensor: `rnn.{what}_l{layer}`, with `_reverse` for the
/// reverse direction (`what` is `weight_ih`, `weight_hh`, `bias_ih` or `bias_hh`).
pub fn rnn_name(what: &str, id: LayerId) -> String {
    let reverse = if id.reverse { "_reverse" } else { "" };
    format!("rnn.{what}_l{}{reverse}", id.depth)
}

/// The tensors of recurrent cell `id` with `gates` stacked gates (1 tanh, 4 LSTM, 3 GRU) of
/// `hidden` units over `input` inputs, with PyTorch's names; `bias_hh` only where the cell keeps a
/// second bias. Buffer order: `weight_ih` (G×D), `weight_hh` (G×H), `bias_ih` (G), `bias_hh` (G).
pub fn rnn_params(
    id: LayerId,
    input: usize,
    hidden: usize,
    gates: usize,
    bias_hh: bool,
) -> Vec<ParamSpec> {
    let (d, h, g) = (input, hidden, gates * hidden);
    let mut v = vec![
        ParamSpec::new(&rnn_name("weight_ih", id), &[g, d], h, Role::Weight),
        ParamSpec::new(&rnn_name("weight_hh", id), &[g, h], h, Role::Recurrent),
        ParamSpec::new(&rnn_name("bias_ih", id), &[g], h, Role::Bias),
    ];
    if bias_hh {
        v.push(ParamSpec::new(
            &rnn_name("bias_hh", id),
            &[g],
            h,
            Role::Bias,
        ));
    }
    v
}

/// Where each named tensor sits in a flat buffer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layout {
    specs: Vec<ParamSpec>,
    offsets: Vec<usize>,
    len: usize,
}

impl Layout {
    /// The tensors `specs`, laid out one after the other in this order.
    pub fn new(specs: Vec<ParamSpec>) -> Layout {
        let mut offsets = Vec::with_capacity(specs.len());
        let mut len = 0;
        for s in &specs {
            offsets.push(len);
            len += s.len();
        }
        Layout {
            specs,
            offsets,
            len,
        }
    }

    /// The tensors, in buffer order.
    pub fn specs(&self) -> &[ParamSpec] {
        &self.specs
    }

    /// Offset of each tensor, in `specs` order.
    pub fn offsets(&self) -> &[usize] {
        &self.offsets
    }

    /// Total number of elements.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the layout holds no element.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Each tensor with its range in the buffer.
    pub fn iter(&self) -> impl Iterator<Item = (&ParamSpec, std::ops::Range<usize>)> {
        self.specs
            .iter()
            .zip(&self.offsets)
            .map(|(s, &o)| (s, o..o + s.len()))
    }

    /// Where the tensor called `name` sits.
    pub fn range(&self, name: &str) -> Option<std::ops::Range<usize>> {
        self.iter().find(|(s, _)| s.name == name).map(|(_, r)| r)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_offsets_follow_pytorch_and_buffer_order() {
        let mut specs = rnn_params(LayerId::forward(0), 5, 3, 4, true);
        specs.extend(rnn_params(LayerId::forward(1), 3, 3, 4, true));
        let rev = LayerId {
            depth: 1,
            reverse: true,
        };
        assert_eq!(rnn_name("bias_hh", rev), "rnn.bias_hh_l1_reverse");
        let l = Layout::new(specs);
        assert_eq!(l.specs()[0].name, "rnn.weight_ih_l0");
        assert_eq!(l.specs()[4].name, "rnn.weight_ih_l1");
        assert_eq!(l.range("rnn.weight_hh_l0"), Some(60..96));
        assert_eq!(l.range("rnn.bias_hh_l1"), Some(l.len() - 12..l.len()));
        assert_eq!(l.range("nope"), None);
    }
}
