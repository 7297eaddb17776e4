import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';

export interface ChartSeries {
  label: string;
  /** One value per x; null leaves a gap. */
  values: Array<number | null>;
  color: string;
}

const localTime = (s: number) => new Date(s * 1000).toTimeString().slice(0, 5);

const PALETTE = ['#2563eb', '#dc2626', '#16a34a', '#d97706', '#7c3aed', '#0891b2'];
export const color = (i: number) => PALETTE[i % PALETTE.length];

/**
 * A time-series chart (uPlot): x in epoch seconds, one line per series, as wide as its container. `title` names
 * it for screen readers, which get the table beside it for the numbers.
 */
export function Chart(props: {
  title: string;
  xs: number[];
  series: ChartSeries[];
  unit?: string;
  height?: number;
  /** The time span shown, epoch seconds; by default the data's own. */
  xRange?: [number, number];
  /** A tick's label from its epoch seconds (default: the browser's local HH:MM). */
  xLabel?: (s: number) => string;
}) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | undefined>(undefined);
  const xRange = useRef(props.xRange);
  xRange.current = props.xRange;
  const shape = props.series.map((s) => s.label).join('\u0000');

  useEffect(() => {
    const el = box.current;
    if (el === null) return;
    const opts: uPlot.Options = {
      width: Math.max(200, el.clientWidth),
      height: props.height ?? 220,
      scales: {
        x: { time: true, range: (_u, min, max) => xRange.current ?? [min, max] },
        y: { range: (_u, min, max) => [Math.min(0, min), max > 0 ? max * 1.1 : 1] },
      },
      series: [
        {},
        ...props.series.map((s) => ({
          label: s.label,
          stroke: s.color,
          width: 2,
          value: (_u: uPlot, v: number | null) => (v === null ? '–' : `${+v.toFixed(2)}${props.unit ?? ''}`),
        })),
      ],
      axes: [
        { values: (_u, ticks) => ticks.map((t) => (props.xLabel ?? localTime)(t)) },
        { size: 60, values: (_u, ticks) => ticks.map((t) => `${+t.toFixed(2)}${props.unit ?? ''}`) },
      ],
      legend: { live: true },
    };
    plot.current = new uPlot(opts, [props.xs, ...props.series.map((s) => s.values)], el);
    const resize = new ResizeObserver(() =>
      plot.current?.setSize({ width: Math.max(200, el.clientWidth), height: opts.height }),
    );
    resize.observe(el);
    return () => {
      resize.disconnect();
      plot.current?.destroy();
      plot.current = undefined;
    };
  }, [shape, props.unit]);

  useEffect(() => {
    plot.current?.setData([props.xs, ...props.series.map((s) => s.values)]);
  }, [props.xs, props.series]);

  return <div class="chart" ref={box} role="img" aria-label={props.title} />;
}
