// SPDX-License-Identifier: Apache-2.0
// Weight stage: sums the kernel weights of all events of one position into 9 x Lanes partial sums.

`default_nettype none

module conv_weight_stage #(
  parameter int Lanes   = 8,    // output channels computed in parallel, >= 1
  parameter int MaxCin  = 64,   // channels per input spike word (event channel range), 1 .. 512
  parameter int AccW    = 16,   // signed accumulator bits, 12 .. 32
  parameter int WDepth  = 512,  // weight rows (one row: 9 offsets x Lanes int8), >= 2
  parameter int PosW    = 8,    // position tag bits, >= 1
  localparam int ChW = (MaxCin > 1) ? $clog2(MaxCin) : 1,
  localparam int WAW = $clog2(WDepth),
  localparam int RowW = 9 * Lanes * 8,
  localparam int PsW = 9 * Lanes * AccW
) (
  input  wire logic            clk_i,
  input  wire logic            rst_i,       // synchronous, active high
  // Weight RAM write port (row r = group * cin + channel; bits [(k*Lanes+l)*8 +: 8])
  input  wire logic            wl_we_i,
  input  wire logic [WAW-1:0]  wl_addr_i,
  input  wire logic [RowW-1:0] wl_data_i,
  // Layer state
  input  wire logic            pixel_i,     // event channel v is pixel channel v>>3, plane v&7
  input  wire logic [WAW-1:0]  wbase_i,     // first weight row of the current output group
  // Address events
  input  wire logic            ev_valid_i,
  output logic                 ev_ready_o,
  input  wire logic [ChW-1:0]  ev_ch_i,
  input  wire logic [PosW-1:0] ev_pos_i,
  input  wire logic            ev_last_i,
  output logic                 busy_o,      // an event is in stage 1
  // Partial sums of one position: bits [(k*Lanes+l)*AccW +: AccW] for offset k, lane l
  output logic                 ps_valid_o,
  input  wire logic            ps_ready_i,
  output logic      [PosW-1:0] ps_pos_o,
  output logic      [PsW-1:0]  ps_data_o
);

  // Stage 0 reads the weight row of an accepted event; stage 1 adds it (shifted by the bit-plane
  // in pixel mode) to the running sums. The sums of a position leave with its last event.
  logic            s1_valid_q, s1_last_q;
  logic [PosW-1:0] s1_pos_q;
  logic [2:0]      s1_shift_q;
  logic [PsW-1:0]  psum_q, psum_d;
  logic [RowW-1:0] wrow;
  logic [WAW-1:0]  raddr;
  logic            ev_fire, s1_go;

  assign s1_go      = s1_valid_q & (~s1_last_q | ps_ready_i);
  assign ev_ready_o = ~s1_valid_q | s1_go;
  assign ev_fire    = ev_valid_i & ev_ready_o;

  always_comb begin
    if (pixel_i) raddr = wbase_i + WAW'(ev_ch_i >> 3);
    else raddr = wbase_i + WAW'(ev_ch_i);
  end

  conv_sdp_ram #(
    .Width (RowW),
    .Depth (WDepth),
    .Slices(1)
  ) u_wram (
    .clk_i  (clk_i),
    .we_i   (wl_we_i),
    .waddr_i(wl_addr_i),
    .wdata_i(wl_data_i),
    .re_i   (ev_fire),
    .raddr_i(raddr),
    .rdata_o(wrow)
  );

  // 9 x Lanes adders; the shift by the bit-plane is a multiplexer, not a multiplier. One process
  // builds the whole vector: Icarus rebuilds a vector driven slice by slice on every slice change.
  always_comb begin
    for (int i = 0; i < 9 * Lanes; i++) begin
      psum_d[i*AccW +: AccW] = psum_q[i*AccW +: AccW]
          + ($unsigned(AccW'($signed(wrow[i*8 +: 8]))) << s1_shift_q);
    end
  end

  always_ff @(posedge clk_i) begin
    if (rst_i) begin
      s1_valid_q <= 1'b0;
      psum_q     <= '0;
    end else begin
      s1_valid_q <= ev_fire | (s1_valid_q & ~s1_go);
      if (s1_go) psum_q <= s1_last_q ? '0 : psum_d;
    end
  end

  always_ff @(posedge clk_i) begin
    if (ev_fire) begin
      s1_last_q  <= ev_last_i;
      s1_pos_q   <= ev_pos_i;
      s1_shift_q <= pixel_i ? ev_ch_i[2:0] : 3'd0;
    end
  end

  assign busy_o     = s1_valid_q;
  assign ps_valid_o = s1_valid_q & s1_last_q;
  assign ps_pos_o   = s1_pos_q;
  assign ps_data_o  = psum_d;

`ifndef SYNTHESIS
  initial begin
    if (Lanes < 1) $fatal(1, "conv_weight_stage: Lanes must be >= 1, got %0d", Lanes);
    if (AccW < 12 || AccW > 32) $fatal(1, "conv_weight_stage: AccW must be 12..32, got %0d", AccW);
    if (MaxCin < 8) $fatal(1, "conv_weight_stage: MaxCin must be >= 8, got %0d", MaxCin);
  end

  always @(posedge clk_i) begin
    if (!rst_i && ev_fire) begin
      assert (32'(raddr) < $unsigned(WDepth))
        else $fatal(1, "conv_weight_stage: weight row %0d", raddr);
    end
  end
`endif

endmodule : conv_weight_stage

`default_nettype wire
