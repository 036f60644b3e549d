export function Sparkline({ values, color, label }: { values: readonly number[]; color: string; label: string }) {
  const width = 120;
  const height = 28;
  const peak = Math.max(1, ...values);
  const step = values.length > 1 ? width / (values.length - 1) : width;
  const points = values.map((value, index) => `${(index * step).toFixed(1)},${(height - (value / peak) * (height - 2) - 1).toFixed(1)}`);
  return (
    <svg width={width} height={height} viewBox={`0 0 ${width} ${height}`} role="img" aria-label={label}>
      <polyline fill="none" stroke={color} strokeWidth="1.5" points={points.join(" ")} />
    </svg>
  );
}
