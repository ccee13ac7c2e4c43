"""Chapter 7, section 7.1 "Project overview": the end-to-end project, built from chapters 2-5.

Chapter 7 designs it (7.2 data ingestion, 7.3 model training, 7.4 model serving, 7.5 the
end-to-end workflow) and chapter 9 implements it, one module per section: ``data_pipeline``
(9.1), ``model_training`` and ``model_selection`` (9.2), ``inference`` (9.3), ``workflow`` (9.4),
and ``demo``, which runs the whole workflow on a laptop. The README maps each design section to
the files that implement it.
"""
