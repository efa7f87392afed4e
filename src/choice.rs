//! Settings chosen by name (`lstm`, `adam`, `cosine`, …): each such enum lists its values and
//! their names once, and is read from and shown as those names by files and command lines alike.

/// An enum whose values are chosen by a lower-case name.
pub trait Choice: Copy + PartialEq + Sized + 'static {
    /// Every value, in the order they are listed.
    const ALL: &'static [Self];

    /// The value's name, as files and command lines spell it.
    fn name(self) -> &'static str;

    /// The value called `name`.
    fn from_name(name: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|v| v.name() == name)
    }

    /// The names of every value, comma-separated (for messages).
    fn names() -> String {
        Self::ALL
            .iter()
            .map(|v| v.name())
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// A name that is none of a [`Choice`]'s values' (what their `FromStr` returns; it becomes an
/// [`Error::Config`](crate::Error::Config) with `?`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownName {
    /// The name given.
    pub name: String,
    /// The names of every value, comma-separated.
    pub names: String,
}

impl std::fmt::Display for UnknownName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?} is not one of {}", self.name, self.names)
    }
}

impl std::error::Error for UnknownName {}

/// Implements [`Choice`], `Display` and `FromStr` for an enum from its values' names.
macro_rules! choice {
    ($t:ty { $($v:ident => $n:literal),+ $(,)? }) => {
        impl $crate::choice::Choice for $t {
            const ALL: &'static [Self] = &[$(<$t>::$v),+];
            fn name(self) -> &'static str {
                match self {
                    $(<$t>::$v => $n),+
                }
            }
        }

        impl $t {
            /// The value's name, as files and command lines spell it.
            pub fn name(self) -> &'static str {
                <$t as $crate::choice::Choice>::name(self)
            }
        }

        impl std::fmt::Display for $t {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str($crate::choice::Choice::name(*self))
            }
        }

        impl std::str::FromStr for $t {
            type Err = $crate::choice::UnknownName;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                <$t as $crate::choice::Choice>::from_name(s).ok_or_else(|| {
                    $crate::choice::UnknownName {
                        name: s.to_string(),
                        names: <$t as $crate::choice::Choice>::names(),
                    }
                })
            }
        }
    };
}
pub(crate) use choice;

#[cfg(test)]
mod tests {
    use super::Choice;

    #[derive(Debug, Clone, Copy, PartialEq)]
    enum Fruit {
        Apple,
        Pear,
    }

    choice!(Fruit { Apple => "apple", Pear => "pear" });

    #[test]
    fn names_read_back_and_list_every_value() {
        for &c in Fruit::ALL {
            assert_eq!(Fruit::from_name(c.name()), Some(c));
            assert_eq!(c.to_string().parse::<Fruit>().unwrap(), c);
        }
        assert_eq!(Fruit::names(), "apple, pear");
        let e = "plum".parse::<Fruit>().unwrap_err().to_string();
        assert_eq!(e, "\"plum\" is not one of apple, pear");
    }
}
