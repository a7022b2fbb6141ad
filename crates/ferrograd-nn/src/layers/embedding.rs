//! [`Embedding`]: a lookup table of vectors indexed by integer ids, as
//! `torch.nn.Embedding`.

use super::{config, named, parameter};
use crate::init::normal_;
use crate::module::{Module, ModuleState};
use ferrograd_autograd::{with_no_grad, DType, Error, Result, Tensor};
use ferrograd_ops::prelude::{where_, CompareOps, IndexingOps};

config! {
    /// The options of [`Embedding`]: a `padding_idx` whose row starts at zero
    /// and receives no gradient (default none), and the weight's dtype (f32).
    ///
    /// ```
    /// use ferrograd_nn::layers::{Embedding, EmbeddingConfig};
    /// let emb = Embedding::with_config(10, 3, EmbeddingConfig::new().padding_idx(Some(0)))?;
    /// assert_eq!(emb.weight.to_vec::<f32>()?[..3], [0.0, 0.0, 0.0]);
    /// assert!(Embedding::with_config(10, 3, EmbeddingConfig::new().padding_idx(Some(10))).is_err());
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    EmbeddingConfig {
        /// The id whose vector is padding.
        padding_idx: Option<usize> = None,
        /// The weight's dtype.
        dtype: DType = DType::F32,
    }
}

/// A table of `num_embeddings` vectors of size `embedding_dim` (`weight`,
/// starting `N(0, 1)`). Input: int64 or int32 ids of any shape; output: the
/// input's shape plus `embedding_dim`.
///
/// ```
/// use ferrograd_nn::layers::Embedding;
/// use ferrograd_nn::module::Module;
/// use ferrograd_autograd::Tensor;
/// let emb = Embedding::new(10, 4)?;
/// let ids = Tensor::from_vec(vec![1i64, 2, 9, 0, 3, 3], &[2, 3])?;
/// assert_eq!(emb.forward(&ids)?.shape(), &[2, 3, 4]);
/// let e = emb.forward(&Tensor::from_vec(vec![10i64], &[1])?).unwrap_err().to_string();
/// assert!(e.contains("index 10 is out of range for 10 embeddings"), "{e}");
/// # Ok::<(), ferrograd_autograd::Error>(())
/// ```
pub struct Embedding {
    /// `(num_embeddings, embedding_dim)`.
    pub weight: Tensor,
    num_embeddings: usize,
    embedding_dim: usize,
    padding_idx: Option<usize>,
    state: ModuleState,
}

impl Embedding {
    /// A table without padding, f32.
    ///
    /// ```
    /// use ferrograd_nn::layers::Embedding;
    /// use ferrograd_autograd::DType;
    /// let emb = Embedding::new(10, 4)?;
    /// assert_eq!((emb.weight.shape(), emb.weight.dtype()), (&[10, 4][..], DType::F32));
    /// assert!(emb.weight.requires_grad());
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    pub fn new(num_embeddings: usize, embedding_dim: usize) -> Result<Self> {
        Self::with_config(num_embeddings, embedding_dim, EmbeddingConfig::default())
    }

    /// A table with the given options; `padding_idx` must be below `num_embeddings`.
    ///
    /// ```
    /// use ferrograd_nn::layers::{Embedding, EmbeddingConfig};
    /// let emb = Embedding::with_config(5, 3, EmbeddingConfig::new().padding_idx(Some(0)))?;
    /// assert_eq!(emb.weight.to_vec::<f32>()?[..3], [0.0; 3]); // row 0 starts at zero
    /// assert!(Embedding::with_config(5, 3, EmbeddingConfig::new().padding_idx(Some(5))).is_err());
    /// # Ok::<(), ferrograd_autograd::Error>(())
    /// ```
    pub fn with_config(
        num_embeddings: usize,
        embedding_dim: usize,
        config: EmbeddingConfig,
    ) -> Result<Self> {
        if let Some(p) = config.padding_idx.filter(|&p| p >= num_embeddings) {
            return Err(Error::invalid(
                "Embedding",
                format!("Padding_idx must be within num_embeddings (got padding_idx={p}, num_embeddings={num_embeddings})"),
            ));
        }
        let weight = parameter(&[num_embeddings, embedding_dim], config.dtype, |w| {
            normal_(w, 0.0, 1.0)
        })?;
        if let Some(p) = config.padding_idx {
            with_no_grad(|| weight.select(0, p as isize)?.fill_(0))?;
        }
        Ok(Embedding {
            weight,
            num_embeddings,
            embedding_dim,
            padding_idx: config.padding_idx,
            state: ModuleState::new(),
        })
    }

    /// The ids as a flat int64 tensor, checked against the table size.
    fn ids(&self, input: &Tensor) -> Result<Tensor> {
        if !matches!(input.dtype(), DType::I64 | DType::I32) {
            return Err(self.layer_error(&format!(
                "expected indices of dtype int64 or int32, but got {}; convert them with .long()",
                input.dtype()
            )));
        }
        let ids = input.long()?.reshape(&[-1])?;
        let n = self.num_embeddings as i64;
        if let Some(bad) = ids
            .to_vec::<i64>()?
            .into_iter()
            .find(|&i| !(0..n).contains(&i))
        {
            return Err(self.layer_error(&format!(
                "index {bad} is out of range for {n} embeddings (index out of range in self)"
            )));
        }
        Ok(ids)
    }
}

impl Module for Embedding {
    fn forward_impl(&self, input: &Tensor) -> Result<Tensor> {
        let ids = self.ids(input)?;
        let mut rows = self.weight.index_select(0, &ids)?;
        if let Some(p) = self.padding_idx {
            let keep = ids.ne(p as i64)?.unsqueeze(1)?;
            rows = where_(&keep, &rows, &self.weight.detach().index_select(0, &ids)?)?;
        }
        let mut shape: Vec<isize> = input.shape().iter().map(|&d| d as isize).collect();
        shape.push(self.embedding_dim as isize);
        rows.reshape(&shape)
    }

    fn state(&self) -> &ModuleState {
        &self.state
    }

    fn extra_repr(&self) -> String {
        let mut s = format!("{}, {}", self.num_embeddings, self.embedding_dim);
        if let Some(p) = self.padding_idx {
            s += &format!(", padding_idx={p}");
        }
        s
    }

    fn local_parameters(&self) -> Vec<(String, Tensor)> {
        named(&[("weight", Some(&self.weight))])
    }
}
