// Package discovery is the sensitive data discovery service: it keeps the
// identifiers (the API's classifiers) and identification frameworks (the
// API's templates), runs discovery on data sources as jobs, and applies the
// Discovered.* tags it finds.
//
// Discovery samples a data source's rows through the catalog, scores every
// column with the data source's framework (internal/sdd), and reconciles the
// column tags it owns: tags it attached earlier carry the context "sdd" and
// are removed when they no longer match; tags people attached by hand are
// never touched. Running it again without changes changes nothing.
package discovery

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"time"

	"github.com/custosdata/custos/internal/audit"
	"github.com/custosdata/custos/internal/catalog"
	"github.com/custosdata/custos/internal/connector"
	"github.com/custosdata/custos/internal/jobs"
	"github.com/custosdata/custos/internal/sdd"
	"github.com/custosdata/custos/internal/store"
	"github.com/custosdata/custos/internal/tags"
)

// JobType is the job type of a discovery run on one data source.
const JobType = "sdd"

// Sampler reads rows of registered data sources; the catalog implements it.
type Sampler interface {
	SampleDataSource(ctx context.Context, d *store.DataSource, columns []string, size int) (*connector.Sample, bool, error)
}

// Config tunes discovery.
type Config struct {
	// SampleSize is how many rows are sampled per data source (default 100).
	SampleSize int
}

// Service implements sensitive data discovery.
type Service struct {
	db      *store.DB
	runner  *jobs.Runner
	catalog *catalog.Service
	sampler Sampler
	log     *slog.Logger
	cfg     Config
}

// New returns the discovery service, registers its job type and installs it
// as the catalog's classifier, so that registration runs discovery.
func New(db *store.DB, runner *jobs.Runner, cat *catalog.Service, log *slog.Logger, cfg Config) *Service {
	if cfg.SampleSize <= 0 {
		cfg.SampleSize = connector.DefaultSampleSize
	}
	s := &Service{db: db, runner: runner, catalog: cat, sampler: cat, log: log, cfg: cfg}
	runner.Register(JobType, jobs.Handler{Run: s.runJob, Resumable: true})
	cat.SetClassifier(s)
	return s
}

// Sync stores the identifiers and the default framework custos ships, so
// they have ids and can be listed; the default framework becomes global when
// no framework is.
func (s *Service) Sync(ctx context.Context) error {
	now := store.Now()
	return s.db.InTx(ctx, func(tx *store.Tx) error {
		for _, id := range sdd.BuiltIns() {
			cfg, err := store.ToJSON(id.Config)
			if err != nil {
				return err
			}
			if err := tx.SyncBuiltInIdentifier(ctx, &store.SDDIdentifier{Name: id.Name, DisplayName: id.DisplayName,
				Description: id.Description, Type: string(id.Type), Config: cfg, CreatedAt: now}); err != nil {
				return fmt.Errorf("store built-in identifier %s: %w", id.Name, err)
			}
		}
		f := sdd.DefaultFramework()
		cl, err := store.ToJSON(f.Classifiers)
		if err != nil {
			return err
		}
		return tx.SyncBuiltInFramework(ctx, &store.SDDFramework{Name: f.Name, DisplayName: f.DisplayName,
			Description: f.Description, Classifiers: cl, Global: true, CreatedAt: now})
	})
}

// runPayload is what a discovery job does.
type runPayload struct {
	DataSourceID int64  `json:"dataSourceId"`
	DryRun       bool   `json:"dryRun,omitempty"`
	Template     string `json:"template,omitempty"` // framework to use instead of the data source's (dry runs)
}

// Output is the output of a discovery job, as /sdd/run shows it.
type Output struct {
	Diff struct {
		AddedTags   map[string][]string `json:"addedTags"`
		RemovedTags map[string][]string `json:"removedTags"`
	} `json:"diff"`
	SDDTagResult map[string][]string `json:"sddTagResult"`
	Sampled      bool                `json:"sampled"` // rows were read; false scores names and types only
	Framework    string              `json:"framework"`
	Skipped      string              `json:"skipped,omitempty"` // why nothing ran
}

// Enqueue creates a discovery job per data source in q's transaction; it
// implements catalog.Classifier.
func (s *Service) Enqueue(ctx context.Context, q *store.Queries, ids []int64, createdBy *int64) ([]string, error) {
	out := make([]string, 0, len(ids))
	for _, id := range ids {
		j, err := jobs.Enqueue(ctx, q, JobType, runPayload{DataSourceID: id}, jobs.Options{CreatedBy: createdBy,
			TargetType: catalog.ModelDataSource, TargetID: fmt.Sprint(id)})
		if err != nil {
			return nil, err
		}
		out = append(out, j)
	}
	return out, nil
}

func (s *Service) runJob(ctx context.Context, job *store.Job, progress jobs.Progress) (any, error) {
	var pl runPayload
	if err := json.Unmarshal(job.Payload, &pl); err != nil {
		return nil, fmt.Errorf("discovery job payload: %w", err)
	}
	ctx, err := catalog.Actor(ctx, &s.db.Queries, job.CreatedBy)
	if err != nil {
		return nil, err
	}
	return s.discover(ctx, pl, progress)
}

// discover runs discovery on one data source.
func (s *Service) discover(ctx context.Context, pl runPayload, progress jobs.Progress) (*Output, error) {
	out := &Output{SDDTagResult: map[string][]string{}}
	out.Diff.AddedTags, out.Diff.RemovedTags = map[string][]string{}, map[string][]string{}
	d, err := s.db.GetDataSource(ctx, pl.DataSourceID)
	if errors.Is(err, store.ErrNotFound) {
		out.Skipped = "the data source was deleted"
		return out, nil
	} else if err != nil {
		return nil, err
	}
	if d.Status == store.DataSourceDisabled {
		out.Skipped = "the data source is disabled"
		return out, nil
	}
	fw, err := s.frameworkFor(ctx, &s.db.Queries, d, pl.Template)
	if err != nil {
		return nil, err
	}
	out.Framework = fw.Name
	scorer, err := s.compile(ctx, &s.db.Queries, fw)
	if err != nil {
		return nil, err
	}
	cols, err := s.db.ColumnsOf(ctx, d.ID)
	if err != nil {
		return nil, err
	}
	columns := cols[d.ID]
	names := make([]string, len(columns))
	for i, c := range columns {
		names[i] = c.Name
	}
	progress(0, int64(len(columns)), "sampling "+d.Name)
	sample, sampled, err := s.sampler.SampleDataSource(ctx, d, names, s.cfg.SampleSize)
	if err != nil {
		return nil, fmt.Errorf("sample %q: %w", d.Name, err)
	}
	out.Sampled = sampled
	next := map[string][]string{}
	for _, c := range columns {
		col := sdd.Column{Name: c.Name, DataType: c.DataType}
		if sample != nil {
			if sc, ok := sample.Column(c.Name); ok {
				col.Values, col.Nulls = sc.Values, sc.Nulls
			}
		}
		if r := scorer.Score(col); len(r.Tags) > 0 {
			next[c.Name] = r.Tags
		}
	}
	out.SDDTagResult = next
	progress(int64(len(columns)), int64(len(columns)), "scored "+d.Name)
	have, err := s.db.ColumnTagsOf(ctx, d.ID)
	if err != nil {
		return nil, err
	}
	// What discovery attached before, and every tag present whoever attached it.
	prev, present := map[string][]string{}, map[string]map[string]bool{}
	for _, c := range columns {
		present[c.Name] = map[string]bool{}
		for _, mt := range have[store.ColumnModelID(d.ID, c.Name)] {
			present[c.Name][mt.Tag.Name] = true
			if mt.Context == catalog.ContextSDD {
				prev[c.Name] = append(prev[c.Name], mt.Tag.Name)
			}
		}
	}
	_, removed := sdd.Diff(prev, next)
	for col, tagsOf := range next {
		for _, t := range tagsOf {
			if !present[col][t] {
				out.Diff.AddedTags[col] = append(out.Diff.AddedTags[col], t)
			}
		}
	}
	out.Diff.RemovedTags = removed
	if pl.DryRun || len(out.Diff.AddedTags)+len(out.Diff.RemovedTags) == 0 {
		return out, nil
	}
	return out, s.applyTags(ctx, d, out)
}

// applyTags attaches the tags discovery found and detaches those it found
// before and no longer does, in one transaction with the audit record.
func (s *Service) applyTags(ctx context.Context, d *store.DataSource, out *Output) error {
	var names []string
	for _, ts := range out.Diff.AddedTags {
		names = append(names, ts...)
	}
	if err := s.ensureTags(ctx, names); err != nil {
		return err
	}
	return s.db.InTx(ctx, func(tx *store.Tx) error {
		q := &tx.Queries
		if _, err := q.GetDataSource(ctx, d.ID); err != nil {
			return err // deleted meanwhile
		}
		now := store.Now()
		known, err := q.TagsByName(ctx, names)
		if err != nil {
			return err
		}
		// Every added tag was absent from its column, so each is newly attached.
		var attach []*store.ModelTag
		var changes []store.Change
		for _, col := range sortedCols(out.Diff.AddedTags) {
			mid := store.ColumnModelID(d.ID, col)
			for _, n := range out.Diff.AddedTags[col] {
				t := known[n]
				if t == nil || t.Deleted {
					if t, err = tags.Ensure(ctx, q, n, nil, true, now); err != nil {
						return err
					}
					known[n] = t
				}
				attach = append(attach, &store.ModelTag{ModelType: catalog.ModelColumn, ModelID: mid, Tag: t, Source: t.Source,
					Context: catalog.ContextSDD, CreatedAt: now})
			}
			changes = append(changes, store.Change{Kind: catalog.ChangeTagAttached, ModelType: catalog.ModelColumn, ModelID: mid})
		}
		if err := q.AttachTags(ctx, attach); err != nil {
			return err
		}
		if err := q.AppendChanges(ctx, changes); err != nil {
			return err
		}
		for col, ts := range out.Diff.RemovedTags {
			mid := store.ColumnModelID(d.ID, col)
			gone, err := q.TagsByName(ctx, ts)
			if err != nil {
				return err
			}
			removed := false
			for _, t := range gone {
				ok, err := q.DetachTag(ctx, catalog.ModelColumn, mid, t.ID)
				if err != nil {
					return err
				}
				removed = removed || ok
			}
			if removed {
				if err := q.AppendChange(ctx, catalog.ChangeTagDetached, catalog.ModelColumn, mid); err != nil {
					return err
				}
			}
		}
		return audit.Write(ctx, q, audit.Event{Type: "sddTagsApplied", Success: true, TargetType: catalog.ModelDataSource,
			TargetID: fmt.Sprint(d.ID), DataSourceID: &d.ID, DataSourceName: d.Name,
			Details: map[string]any{"addedTags": out.Diff.AddedTags, "removedTags": out.Diff.RemovedTags, "framework": out.Framework}})
	})
}

func sortedCols(m map[string][]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// ensureTags creates the Discovered tags that do not exist yet, as system
// tags, each in a short transaction of its own: concurrent runs finding the
// same new tag then only race on its creation, which the loser retries.
func (s *Service) ensureTags(ctx context.Context, names []string) error {
	known, err := s.db.TagsByName(ctx, names)
	if err != nil {
		return err
	}
	for _, n := range names {
		if t := known[n]; t != nil && !t.Deleted {
			continue
		}
		for attempt := 0; ; attempt++ {
			err := s.db.InTx(ctx, func(tx *store.Tx) error {
				_, err := tags.Ensure(ctx, &tx.Queries, n, nil, true, store.Now())
				return err
			})
			if err == nil || !store.IsUniqueViolation(err) || attempt == 3 {
				if err != nil {
					return fmt.Errorf("create tag %q: %w", n, err)
				}
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	return nil
}
